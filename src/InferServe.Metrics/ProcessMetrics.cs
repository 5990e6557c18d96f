using System.Diagnostics;
using Prometheus;

namespace InferServe.Metrics;

/// <summary>
/// Process and .NET runtime metrics. prometheus-net's DotNetStats supplies the standard ones (process_cpu_seconds_total,
/// process_start_time_seconds, process_virtual_memory_bytes, process_working_set_bytes, process_num_threads,
/// dotnet_collection_count_total, dotnet_total_memory_bytes, ...). It has no resident-memory or fd gauge under the
/// names soak tests and the load-test sampler read, so those two stay here.
/// </summary>
public static class ProcessMetrics
{
    public const string ResidentMemory = "process_resident_memory_bytes";

    /// <summary>Registers the process families once per registry (a second call is a no-op).</summary>
    public static void Register(MetricRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        if (registry.Metrics.Any(m => m.Name == ResidentMemory)) return;
        DotNetStats.Register(registry.Collectors);
        var process = Process.GetCurrentProcess();
        registry.CreateCallbackGauge(ResidentMemory, "Resident memory size in bytes.", () =>
        {
            lock (process)
            {
                process.Refresh();
                return process.WorkingSet64; // on Linux, VmRSS
            }
        });
        registry.CreateCallbackGauge("process_open_fds", "Number of open file descriptors.", OpenFds);
    }

    /// <summary>Entries of /proc/self/fd on Linux; the handle count elsewhere.</summary>
    private static double OpenFds() =>
        Directory.Exists("/proc/self/fd") ? Directory.EnumerateFileSystemEntries("/proc/self/fd").Count() : Process.GetCurrentProcess().HandleCount;
}
