namespace InferServe.Metrics;

/// <summary>Histogram bucket bounds, matching vLLM's (v1 engine) so dashboards and quantile queries carry over.</summary>
public static class EngineMetricBuckets
{
    /// <summary>vLLM's time_to_first_token_seconds buckets.</summary>
    public static double[] TimeToFirstTokenSeconds =>
        [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0];

    /// <summary>vLLM's inter_token_latency_seconds / time_per_output_token_seconds buckets.</summary>
    public static double[] InterTokenLatencySeconds =>
        [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0];

    /// <summary>vLLM's buckets for whole-request durations (e2e latency, queue/prefill/decode/inference time).</summary>
    public static double[] RequestLatencySeconds =>
        [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0];

    /// <summary>
    /// vLLM's build_1_2_5_buckets: 1, 2, 5, 10, 20, 50, ... up to and including <paramref name="max"/>
    /// (used for per-request token counts, with max = the model's context length).
    /// </summary>
    public static double[] OneTwoFive(int max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        var result = new List<double>();
        for (long exponent = 1; ; exponent *= 10)
        {
            foreach (int mantissa in (ReadOnlySpan<int>)[1, 2, 5])
            {
                long value = mantissa * exponent;
                if (value > max) return [.. result];
                result.Add(value);
            }
        }
    }
}
