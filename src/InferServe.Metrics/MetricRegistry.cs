using System.Text;
using Prom = Prometheus;

namespace InferServe.Metrics;

/// <summary>
/// InferServe's facade over a prometheus-net <see cref="Prom.CollectorRegistry"/>: callers keep creating metrics here,
/// every family is a prometheus-net collector in <see cref="Collectors"/>, and prometheus-net writes the exposition.
/// Registration takes a lock; updates go straight to the prometheus-net children.
/// </summary>
public sealed class MetricRegistry
{
    /// <summary>The Content-Type of the text exposition format (0.0.4) that /metrics serves.</summary>
    public const string ContentType = Prom.PrometheusConstants.TextContentTypeWithVersionAndEncoding;

    private readonly Lock _lock = new();
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private volatile Metric[] _metrics = [];

    public MetricRegistry()
    {
        Collectors = Prom.Metrics.NewCustomRegistry();
        Factory = Prom.Metrics.WithCustomRegistry(Collectors);
        // The 0.0.4 text format carries no exemplars, and reading Activity.Current per token would cost on hot paths.
        Factory.ExemplarBehavior = Prom.ExemplarBehavior.NoExemplars();
        // Callback gauges and counters read their sources just before each scrape.
        Collectors.AddBeforeCollectCallback(BeforeCollect);
    }

    /// <summary>The prometheus-net registry holding every family (for MapMetrics, UseHttpMetrics, DotNetStats).</summary>
    public Prom.CollectorRegistry Collectors { get; }

    internal Prom.IMetricFactory Factory { get; }

    /// <summary>The families created through this facade; prometheus-net's own (DotNetStats, HTTP metrics) are only in <see cref="Collectors"/>.</summary>
    public IReadOnlyList<Metric> Metrics => _metrics;

    /// <summary>
    /// A counter. Prometheus expects counters to end in "_total"; the suffix is appended unless already present,
    /// so both "x" and "x_total" expose "x_total".
    /// </summary>
    public Counter CreateCounter(string name, string help, params string[] labelNames)
    {
        string exposed = TotalName(name);
        var labels = Labels(labelNames);
        return Register(exposed, help, () => new Counter(Factory.CreateCounter(exposed, EscapedHelp(help), labels), help, labels));
    }

    public Gauge CreateGauge(string name, string help, params string[] labelNames)
    {
        var labels = Labels(labelNames);
        return Register(name, help, () => new Gauge(Factory.CreateGauge(name, EscapedHelp(help), labels), help, labels));
    }

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
        string exposed = TotalName(name);
        return Register(exposed, help, () => new CallbackCounter(Factory.CreateCounter(exposed, EscapedHelp(help)), help, callback));
    }

    /// <param name="upperBounds">Strictly increasing finite bucket bounds; the +Inf bucket is implicit.</param>
    public Histogram CreateHistogram(string name, string help, double[] upperBounds, params string[] labelNames)
    {
        var bounds = Histogram.ValidateBounds(upperBounds);
        var labels = Labels(labelNames);
        var configuration = new Prom.HistogramConfiguration { Buckets = [.. bounds, double.PositiveInfinity] };
        return Register(name, help, () => new Histogram(Factory.CreateHistogram(name, EscapedHelp(help), labels, configuration), help, bounds, labels));
    }

    /// <summary>An info metric (gauge with value 1 carrying labels); by convention the name ends in "_info".</summary>
    public InfoMetric CreateInfo(string name, string help, params string[] labelNames)
    {
        var labels = Labels(labelNames);
        // Nothing is exposed until Set: an unlabelled info gauge would otherwise show 0 from the start.
        var configuration = new Prom.GaugeConfiguration { SuppressInitialValue = true };
        return Register(name, help, () => new InfoMetric(Factory.CreateGauge(name, EscapedHelp(help), labels, configuration), help, labels));
    }

    /// <summary>Writes the text exposition (0.0.4) of every family, as prometheus-net renders it for /metrics.</summary>
    public Task WriteToAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return Collectors.CollectAndExportAsTextAsync(stream, Prom.ExpositionFormat.PrometheusText, cancellationToken);
    }

    public void WriteTo(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(ToText());
    }

    /// <summary>The whole exposition as a string (tests, debugging).</summary>
    public string ToText()
    {
        using var buffer = new MemoryStream();
        // A MemoryStream completes every write synchronously, so blocking here cannot deadlock.
        WriteToAsync(buffer).GetAwaiter().GetResult();
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private void BeforeCollect()
    {
        foreach (var metric in _metrics)
            metric.BeforeCollect();
    }

    private static string TotalName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return name.EndsWith("_total", StringComparison.Ordinal) ? name : name + "_total";
    }

    /// <summary>
    /// prometheus-net 8.2.1 writes HELP text verbatim, so a backslash or line feed in it would break the exposition;
    /// the 0.0.4 format wants them as \\ and \n. (Label values it escapes itself.)
    /// </summary>
    private static string EscapedHelp(string help) =>
        help.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("\n", @"\n", StringComparison.Ordinal);

    private static string[] Labels(string[] labelNames)
    {
        ArgumentNullException.ThrowIfNull(labelNames);
        foreach (var label in labelNames) ArgumentException.ThrowIfNullOrEmpty(label, nameof(labelNames));
        return (string[])labelNames.Clone();
    }

    /// <summary>
    /// prometheus-net returns the existing collector for a repeated name; registering a name twice here is a
    /// mistake (two owners of one series), so it throws instead. prometheus-net validates names and labels.
    /// </summary>
    private T Register<T>(string name, string help, Func<T> create) where T : Metric
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(help);
        lock (_lock)
        {
            if (_names.Contains(name))
                throw new InvalidOperationException($"A metric named '{name}' is already registered.");
            var metric = create();
            metric.OnRegistered();
            _names.Add(name);
            _metrics = [.. _metrics, metric];
            return metric;
        }
    }
}
