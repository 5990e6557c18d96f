namespace InferServe.LoadTests.Metrics;

/// <summary>The statistics of one run (or one sweep point) over its measured, non-warm-up requests.</summary>
public sealed record RunSummary
{
    public required string Label { get; init; }
    public int Requests { get; init; }
    public int Completed { get; init; }
    public int Failed { get; init; }
    /// <summary>Still running when the run stopped: neither completed nor failed.</summary>
    public int Unfinished { get; init; }
    public required IReadOnlyDictionary<string, int> ErrorsByType { get; init; }
    /// <summary>The first detail seen for each error type.</summary>
    public required IReadOnlyDictionary<string, string> ErrorExamples { get; init; }
    public double DurationSeconds { get; init; }
    public int InputTokens { get; init; }
    public int OutputTokens { get; init; }
    public double RequestThroughput { get; init; }
    public double OutputTokenThroughput { get; init; }
    public double TotalTokenThroughput { get; init; }
    public int GoodRequests { get; init; }
    public double Goodput { get; init; }
    public required string Slo { get; init; }
    /// <summary>Seconds.</summary>
    public required Distribution Ttft { get; init; }
    public required Distribution Tpot { get; init; }
    public required Distribution Itl { get; init; }
    public required Distribution E2e { get; init; }

    /// <summary>
    /// Summarizes <paramref name="records"/> over a run of <paramref name="durationSeconds"/>. Latencies and token
    /// counts come from completed requests only, so a stalled or failed stream never improves the numbers.
    /// </summary>
    public static RunSummary From(string label, IEnumerable<RequestRecord> records, double durationSeconds, Slo slo)
    {
        var measured = records.Where(r => !r.Warmup).ToArray();
        var done = measured.Where(r => r.Completed).ToArray();
        var errors = measured.Where(r => r.Error is not null).GroupBy(r => r.Error!).OrderBy(g => g.Key)
            .ToDictionary(g => g.Key, g => g.Count());
        int input = done.Sum(r => r.InputTokens), output = done.Sum(RequestMetrics.OutputTokens);
        int good = done.Count(slo.Meets);
        double d = durationSeconds > 0 ? durationSeconds : double.NaN;
        return new RunSummary
        {
            Label = label,
            Requests = measured.Length,
            Completed = done.Length,
            Failed = errors.Values.Sum(),
            Unfinished = measured.Length - done.Length - errors.Values.Sum(),
            ErrorsByType = errors,
            ErrorExamples = measured.Where(r => r.ErrorDetail is not null).GroupBy(r => r.Error!).ToDictionary(g => g.Key, g => g.First().ErrorDetail!),
            DurationSeconds = durationSeconds,
            InputTokens = input,
            OutputTokens = output,
            RequestThroughput = done.Length / d,
            OutputTokenThroughput = output / d,
            TotalTokenThroughput = (input + output) / d,
            GoodRequests = good,
            Goodput = good / d,
            Slo = slo.ToString(),
            Ttft = Distribution.Of(done.Select(r => RequestMetrics.Ttft(r)!.Value)),
            Tpot = Distribution.Of(done.Select(RequestMetrics.Tpot).OfType<double>()),
            Itl = Distribution.Of(done.SelectMany(RequestMetrics.Itl)),
            E2e = Distribution.Of(done.Select(r => RequestMetrics.E2e(r)!.Value)),
        };
    }
}
