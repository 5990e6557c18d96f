using InferServe.Engine.Core;

namespace InferServe.Engine.Tests.Stages;

/// <summary>The engine's inbox: work posted from any thread runs on the thread that drains it, in order.</summary>
public sealed class EngineInboxTests
{
    [Fact(Timeout = 30_000)]
    public async Task Posted_work_runs_in_order_on_the_draining_thread_and_wakes_a_waiting_loop()
    {
        var inbox = new EngineInbox();
        var ran = new List<(int Item, int Thread)>();
        int loopThread = 0;
        var loop = new Thread(() =>
        {
            loopThread = Environment.CurrentManagedThreadId;
            while (ran.Count < 3)
            {
                inbox.Wait(TimeSpan.FromSeconds(10), CancellationToken.None);
                inbox.RunPosted();
            }
        });
        loop.Start();
        await Task.Run(() =>
        {
            for (int i = 0; i < 3; i++)
            {
                int item = i;
                inbox.Post(() => ran.Add((item, Environment.CurrentManagedThreadId)));
            }
        });
        await Task.Run(loop.Join);

        Assert.Equal([0, 1, 2], ran.Select(r => r.Item));
        Assert.All(ran, r => Assert.Equal(loopThread, r.Thread));
    }

    [Fact(Timeout = 30_000)]
    public async Task A_call_returns_its_result_or_its_exception_once_drained()
    {
        var inbox = new EngineInbox();
        var answer = inbox.Call(() => 42);
        var failure = inbox.Call<int>(() => throw new InvalidOperationException("nope"));
        Assert.False(answer.IsCompleted);
        Assert.Equal(2, inbox.Count);

        inbox.RunPosted();

        Assert.Equal(42, await answer);
        Assert.Equal("nope", (await Assert.ThrowsAsync<InvalidOperationException>(() => failure)).Message);
        Assert.Equal(0, inbox.Count);
    }
}
