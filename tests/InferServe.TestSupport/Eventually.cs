namespace InferServe.TestSupport;

/// <summary>
/// Waits for a state the system reaches on its own (blocks freed, a log line written): however long a loaded machine takes,
/// bounded only by a generous timeout so a bug fails with a message instead of hanging. Never a short window.
/// </summary>
public static class Eventually
{
    public static readonly TimeSpan Generous = TimeSpan.FromMinutes(2);

    public static async Task WaitUntilAsync(Func<bool> condition, Func<string> failure, TimeSpan? within = null)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(within ?? Generous);
        while (!condition())
        {
            try { await Task.Delay(10, timeout.Token); }
            catch (OperationCanceledException) { Assert.Fail($"Not reached within {within ?? Generous}: {failure()}"); }
        }
    }
}
