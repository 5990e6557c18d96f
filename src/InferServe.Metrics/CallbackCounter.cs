using Prom = Prometheus;

namespace InferServe.Metrics;

/// <summary>An unlabelled counter whose value is read from a monotonic source before each scrape (CPU seconds).</summary>
public sealed class CallbackCounter : Metric
{
    private readonly Prom.Counter _counter;
    private readonly Func<double> _callback;

    internal CallbackCounter(Prom.Counter counter, string help, Func<double> callback)
        : base(counter.Name, help, [])
    {
        _counter = counter;
        _callback = callback;
    }

    public double Value
    {
        get
        {
            try { return _callback(); }
            catch (Exception) { return double.NaN; } // one broken source must not fail the scrape
        }
    }

    /// <summary>IncTo keeps the counter monotonic even if the source ever reads lower; NaN (a failed read) is skipped.</summary>
    internal override void BeforeCollect()
    {
        double value = Value;
        if (!double.IsNaN(value)) _counter.IncTo(value);
    }
}
