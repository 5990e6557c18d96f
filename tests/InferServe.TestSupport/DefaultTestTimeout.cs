using System.Collections.Concurrent;
using System.Reflection;
using Xunit.v3;

namespace InferServe.TestSupport;

/// <summary>
/// A per-test timeout for every test that sets none (xunit has no assembly-wide default): when it runs out, the test's
/// cancellation token is cancelled and its name is reported, so a hang fails fast with a name instead of stalling the run.
/// INFERSERVE_TEST_TIMEOUT_SECONDS overrides the default of 10 minutes. tests/Directory.Build.props puts it on every test assembly.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly)]
public sealed class DefaultTestTimeoutAttribute : BeforeAfterTestAttribute
{
    public static TimeSpan Default { get; } = TimeSpan.FromSeconds(
        int.TryParse(Environment.GetEnvironmentVariable("INFERSERVE_TEST_TIMEOUT_SECONDS"), out int s) && s > 0 ? s : 600);

    private static readonly ConcurrentDictionary<string, Timer> Timers = new();

    public override void Before(MethodInfo methodUnderTest, IXunitTest test)
    {
        if (test.Timeout > 0) return; // the test's own timeout rules
        var context = TestContext.Current;
        var name = test.TestDisplayName;
        var timer = new Timer(_ =>
        {
            Console.Error.WriteLine($"[default timeout] {name} ran past {Default.TotalSeconds:F0} s; cancelling it.");
            context.SendDiagnosticMessage($"{name} ran past the default timeout of {Default.TotalSeconds:F0} s");
            context.CancelCurrentTest();
        }, null, Default, Timeout.InfiniteTimeSpan);
        Timers[test.UniqueID] = timer;
    }

    public override void After(MethodInfo methodUnderTest, IXunitTest test)
    {
        if (Timers.TryRemove(test.UniqueID, out var timer)) timer.Dispose();
    }
}
