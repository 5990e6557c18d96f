using System.Diagnostics;
using System.Text;

namespace InferServe.TestSupport.Fuzzing;

/// <summary>
/// One fuzz target's run: fixed seed, a case count, and the distinct failures found. Each case gets its own
/// <see cref="Random"/> derived from (seed, target, case index), so any failure replays alone.
/// INFERSERVE_FUZZ_SEED and INFERSERVE_FUZZ_CASES (set by scripts/fuzz.sh) override the defaults for longer runs.
/// </summary>
public sealed class FuzzRun(string target, int defaultCases)
{
    public const int DefaultSeed = 20261201;
    /// <summary>Whole-test bound, generous for scripts/fuzz.sh's long runs; per-case watchdogs catch a hang within seconds.</summary>
    public const int TestTimeoutMs = 3_600_000;
    private const int MaxReported = 8;

    private readonly Dictionary<string, string> _failures = new(StringComparer.Ordinal);
    private readonly HashSet<string> _outcomes = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public string Target { get; } = target;
    public int Seed { get; } = EnvInt("INFERSERVE_FUZZ_SEED") ?? DefaultSeed;
    public int Cases { get; } = EnvInt("INFERSERVE_FUZZ_CASES") ?? defaultCases;

    /// <summary>Distinct expected outcomes seen (error messages with numbers stripped): how far into the parser the cases got.</summary>
    public int DistinctOutcomes { get { lock (_gate) return _outcomes.Count; } }
    public IReadOnlyCollection<string> Outcomes { get { lock (_gate) return _outcomes.ToList(); } }

    public Random CaseRandom(int index) => new(unchecked((int)Mix((ulong)(uint)Seed, StableHash(Target), (ulong)index)));

    /// <summary>Records a case's acceptable outcome (an expected error message, or "ok").</summary>
    public void Outcome(string outcome)
    {
        var key = Normalize(outcome);
        lock (_gate) _outcomes.Add(key);
    }

    /// <summary>Records a failure once per distinct kind, with the case index and input that reproduce it.</summary>
    public void Fail(int index, string kind, string input)
    {
        var key = Normalize(kind);
        lock (_gate)
        {
            if (_failures.ContainsKey(key)) return;
            _failures[key] = $"case {index} (seed {Seed}): {kind}\n    input: {Shorten(input)}";
        }
    }

    /// <summary>
    /// Runs one case of a loader: success, or a <typeparamref name="TRefusal"/> with a message (less <paramref name="scrub"/>,
    /// e.g. a scratch directory), is an outcome; any other exception is a failure.
    /// </summary>
    public void Expect<TRefusal>(int index, string input, Action load, string scrub = "") where TRefusal : Exception
    {
        try
        {
            load();
            Outcome("ok");
        }
        catch (TRefusal e) when (e.Message.Length > 0)
        {
            Outcome(scrub.Length > 0 ? e.Message.Replace(scrub, "", StringComparison.Ordinal) : e.Message);
        }
        catch (Exception e)
        {
            Fail(index, $"{e.GetType().Name}: {e.Message} at {e.StackTrace?.Split('\n').FirstOrDefault()?.Trim()}", input);
        }
    }

    /// <summary>Fails the test with every distinct failure; writes a one-line summary to the test output otherwise.</summary>
    public void AssertClean()
    {
        lock (_gate)
        {
            var summary = $"fuzz {Target}: {Cases} cases, seed {Seed}, {_outcomes.Count} distinct outcomes, {_failures.Count} distinct failures";
            TestContext.Current.SendDiagnosticMessage(summary);
            TestContext.Current.TestOutputHelper?.WriteLine(summary);
            if (_failures.Count == 0) return;
            var sb = new StringBuilder(summary).AppendLine(":");
            foreach (var f in _failures.Values.Take(MaxReported)) sb.AppendLine(f);
            Assert.Fail(sb.ToString());
        }
    }

    /// <summary>Runs every case (on <paramref name="parallelism"/> workers), each under a deadline: a case past it is a hang.</summary>
    public async Task RunAsync(Func<int, Random, CancellationToken, Task> body, int parallelism = 1, TimeSpan? perCase = null)
    {
        var limit = perCase ?? TimeSpan.FromSeconds(30);
        int next = -1;
        async Task Worker()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < Cases)
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
                cts.CancelAfter(limit);
                try
                {
                    await body(i, CaseRandom(i), cts.Token);
                }
                catch (OperationCanceledException) when (cts.IsCancellationRequested && !TestContext.Current.CancellationToken.IsCancellationRequested)
                {
                    Fail(i, $"hang: no answer within {limit.TotalSeconds:F0} s", $"case {i}");
                }
            }
        }
        await Task.WhenAll(Enumerable.Range(0, parallelism).Select(_ => Task.Run(Worker)));
    }

    /// <summary>
    /// Synchronous targets (parsers), on a worker thread watched from the test's thread: a case that has not returned
    /// after <paramref name="perCase"/> fails the test at once as a hang (its thread is abandoned).
    /// </summary>
    public void Run(Action<int, Random> body, TimeSpan? perCase = null)
    {
        var limit = perCase ?? TimeSpan.FromSeconds(10);
        var ct = TestContext.Current.CancellationToken;
        int current = -1;
        long caseStarted = Stopwatch.GetTimestamp();
        var worker = Task.Factory.StartNew(() =>
        {
            for (int i = 0; i < Cases && !ct.IsCancellationRequested; i++)
            {
                Volatile.Write(ref caseStarted, Stopwatch.GetTimestamp());
                Volatile.Write(ref current, i);
                body(i, CaseRandom(i));
            }
        }, ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        while (!worker.Wait(TimeSpan.FromMilliseconds(200), CancellationToken.None))
        {
            if (Stopwatch.GetElapsedTime(Volatile.Read(ref caseStarted)) > limit)
            {
                int i = Volatile.Read(ref current);
                Fail(i, $"hang: case still running after {limit.TotalSeconds:F0} s", $"case {i}");
                AssertClean();
            }
            ct.ThrowIfCancellationRequested();
        }
        worker.GetAwaiter().GetResult();
    }

    private static string Normalize(string s)
    {
        var sb = new StringBuilder(Math.Min(s.Length, 160));
        foreach (char c in s.AsSpan(0, Math.Min(s.Length, 160)))
        {
            if (char.IsAsciiDigit(c)) { if (sb.Length == 0 || sb[^1] != '#') sb.Append('#'); }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }

    private static string Shorten(string s) => s.Length <= 600 ? s : s[..600] + $"... ({s.Length} chars)";

    private static int? EnvInt(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out var v) && v > 0 ? v : null;

    private static ulong StableHash(string s)
    {
        ulong h = 14695981039346656037;
        foreach (char c in s) h = (h ^ c) * 1099511628211;
        return h;
    }

    private static ulong Mix(ulong a, ulong b, ulong c)
    {
        ulong x = a * 0x9E3779B97F4A7C15 ^ b ^ c * 0xBF58476D1CE4E5B9;
        x ^= x >> 31; x *= 0x94D049BB133111EB; x ^= x >> 29;
        return x;
    }
}
