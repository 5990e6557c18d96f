using System.Buffers;
using System.Text;

namespace InferServe.Metrics;

/// <summary>
/// Owns metric families and renders them in the Prometheus text exposition format 0.0.4, in registration order.
/// Registration takes a lock; scrapes iterate a copy-on-write snapshot and never block updates.
/// </summary>
public sealed class MetricRegistry
{
    /// <summary>The Content-Type of the text exposition format this registry writes.</summary>
    public const string ContentType = Exposition.ContentType;

    private readonly Lock _lock = new();
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private volatile Metric[] _metrics = [];

    public IReadOnlyList<Metric> Metrics => _metrics;

    /// <summary>
    /// A counter. Prometheus expects counters to end in "_total"; the suffix is appended unless already present,
    /// so both "x" and "x_total" expose "x_total".
    /// </summary>
    public Counter CreateCounter(string name, string help, params string[] labelNames)
    {
        MetricNames.ValidateMetricName(name);
        string exposed = name.EndsWith("_total", StringComparison.Ordinal) ? name : name + "_total";
        return Register(new Counter(exposed, help, Labels(labelNames, false)));
    }

    public Gauge CreateGauge(string name, string help, params string[] labelNames) =>
        Register(new Gauge(Validated(name), help, Labels(labelNames, false)));

    /// <summary>An unlabelled gauge whose value is <paramref name="callback"/>() at each scrape.</summary>
    public Gauge CreateCallbackGauge(string name, string help, Func<double> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var gauge = CreateGauge(name, help);
        gauge.SetCallback(callback);
        return gauge;
    }

    /// <summary>An unlabelled counter whose value is <paramref name="callback"/>() at each scrape; the source must be monotonic.</summary>
    public CallbackCounter CreateCallbackCounter(string name, string help, Func<double> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        MetricNames.ValidateMetricName(name);
        return Register(new CallbackCounter(name.EndsWith("_total", StringComparison.Ordinal) ? name : name + "_total", help, callback));
    }

    /// <param name="upperBounds">Strictly increasing finite bucket bounds; the +Inf bucket is implicit.</param>
    public Histogram CreateHistogram(string name, string help, double[] upperBounds, params string[] labelNames) =>
        Register(new Histogram(Validated(name), help, upperBounds, Labels(labelNames, true)));

    /// <summary>An info metric (gauge with value 1 carrying labels); by convention the name ends in "_info".</summary>
    public InfoMetric CreateInfo(string name, string help, params string[] labelNames) =>
        Register(new InfoMetric(Validated(name), help, Labels(labelNames, false)));

    /// <summary>Writes every family as UTF-8 text. Used directly with an ASP.NET Core response PipeWriter.</summary>
    public void WriteTo(IBufferWriter<byte> writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        foreach (var metric in _metrics)
            metric.WriteTo(writer);
    }

    public async Task WriteToAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new PooledBufferWriter();
        WriteTo(buffer);
        await stream.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
    }

    public void WriteTo(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        using var buffer = new PooledBufferWriter();
        WriteTo(buffer);
        // The text is ASCII apart from label values/help; decode in chunks to avoid one big string.
        var decoder = Encoding.UTF8.GetDecoder();
        var chars = ArrayPool<char>.Shared.Rent(4096);
        try
        {
            var bytes = buffer.WrittenMemory.Span;
            while (true)
            {
                decoder.Convert(bytes, chars, flush: true, out int used, out int charCount, out bool completed);
                writer.Write(chars, 0, charCount);
                bytes = bytes[used..];
                if (completed && bytes.IsEmpty) break;
            }
        }
        finally { ArrayPool<char>.Shared.Return(chars); }
    }

    /// <summary>The whole exposition as a string (tests, debugging).</summary>
    public string ToText()
    {
        using var buffer = new PooledBufferWriter();
        WriteTo(buffer);
        return Encoding.UTF8.GetString(buffer.WrittenMemory.Span);
    }

    private static string Validated(string name)
    {
        MetricNames.ValidateMetricName(name);
        return name;
    }

    private static string[] Labels(string[] labelNames, bool isHistogram)
    {
        ArgumentNullException.ThrowIfNull(labelNames);
        MetricNames.ValidateLabelNames(labelNames, isHistogram);
        return (string[])labelNames.Clone();
    }

    private T Register<T>(T metric) where T : Metric
    {
        ArgumentNullException.ThrowIfNull(metric.Help);
        lock (_lock)
        {
            if (!_names.Add(metric.Name))
                throw new InvalidOperationException($"A metric named '{metric.Name}' is already registered.");
            metric.OnRegistered();
            _metrics = [.. _metrics, metric];
        }
        return metric;
    }
}
