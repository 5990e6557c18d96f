using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace InferServe.TestSupport;

/// <summary>
/// What a test may do when something it needs is absent. A model file or a peer (python3-grpcio, promtool, the npm
/// references) is required: it skips locally and fails under CI. Hardware or platform this machine lacks (AVX-512, a GPU
/// provider) is optional: it skips everywhere, and says so in the skip ledger that scripts/test.sh checks under CI.
/// </summary>
public static class Requirements
{
    /// <summary>CI set to true (any case) or 1.</summary>
    public static bool IsCi => Environment.GetEnvironmentVariable("CI")?.Trim() is { } ci
        && (ci == "1" || string.Equals(ci, "true", StringComparison.OrdinalIgnoreCase));

    /// <summary>A required model file or peer is missing: skip locally, fail under CI.</summary>
    [DoesNotReturn]
    public static void Missing(string message)
    {
        if (IsCi) Assert.Fail("Required under CI: " + message);
        Assert.Skip(message);
        throw new UnreachableException();
    }

    /// <summary>Skips, everywhere, a test for hardware or a platform this machine lacks; the skip is recorded as legitimate.</summary>
    public static void OptionalUnless(bool condition, string message)
    {
        if (condition) return;
        Optional(message);
    }

    /// <inheritdoc cref="OptionalUnless"/>
    [DoesNotReturn]
    public static void Optional(string message)
    {
        // scripts/test.sh counts these lines: under CI, every skip must be one of them.
        if (Environment.GetEnvironmentVariable("INFERSERVE_SKIP_LEDGER") is { Length: > 0 } ledger)
        {
            var test = TestContext.Current.Test?.TestDisplayName ?? "unknown test";
            lock (LedgerLock) File.AppendAllText(ledger, $"{test}\t{message.ReplaceLineEndings(" ")}\n");
        }
        Assert.Skip(message);
        throw new UnreachableException();
    }

    private static readonly Lock LedgerLock = new();
}
