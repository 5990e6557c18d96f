using System.Buffers;

namespace InferServe.Metrics;

/// <summary>An unlabelled counter whose value is read from a monotonic source at each scrape (CPU seconds).</summary>
public sealed class CallbackCounter : Metric
{
    private readonly byte[] _prefix;
    private readonly Func<double> _callback;

    internal CallbackCounter(string name, string help, Func<double> callback)
        : base(name, help, "counter", [])
    {
        _callback = callback;
        _prefix = Exposition.SeriesPrefix(name, [], []);
    }

    public double Value
    {
        get
        {
            try { return _callback(); }
            catch (Exception) { return double.NaN; } // one broken source must not fail the scrape
        }
    }

    internal override void WriteTo(IBufferWriter<byte> writer)
    {
        writer.Write(HeaderBytes);
        Exposition.WriteSample(writer, _prefix, Value);
    }
}
