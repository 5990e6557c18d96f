using System.Diagnostics;

namespace InferServe.Metrics;

/// <summary>
/// The standard process metrics prometheus-net (and every Prometheus client) exposes by default, read at scrape
/// time: resident and virtual memory, CPU seconds, open file descriptors, start time. Soak tests watch these.
/// </summary>
public static class ProcessMetrics
{
    public const string ResidentMemory = "process_resident_memory_bytes";

    /// <summary>Registers the process families once per registry (a second call is a no-op).</summary>
    public static void Register(MetricRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        if (registry.Metrics.Any(m => m.Name == ResidentMemory)) return;
        var process = Process.GetCurrentProcess();
        double Read(Func<Process, double> read)
        {
            lock (process)
            {
                process.Refresh();
                return read(process);
            }
        }
        registry.CreateCallbackGauge(ResidentMemory, "Resident memory size in bytes.", () => Read(p => p.WorkingSet64));
        registry.CreateCallbackGauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", () => Read(p => p.VirtualMemorySize64));
        registry.CreateCallbackCounter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", () => Read(p => p.TotalProcessorTime.TotalSeconds));
        registry.CreateCallbackGauge("process_open_fds", "Number of open file descriptors.", OpenFds);
        registry.CreateCallbackGauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
            () => new DateTimeOffset(process.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0);
    }

    /// <summary>Entries of /proc/self/fd on Linux; the handle count elsewhere.</summary>
    private static double OpenFds() =>
        Directory.Exists("/proc/self/fd") ? Directory.EnumerateFileSystemEntries("/proc/self/fd").Count() : Process.GetCurrentProcess().HandleCount;
}
