using System.Globalization;
using InferServe.LoadTests.Clients;
using InferServe.LoadTests.Load;

namespace InferServe.LoadTests.Cli;

/// <summary>A live progress line, once a second, until disposed; overwritten in place on a terminal.</summary>
public sealed class ProgressLine : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Func<string> _render;
    private readonly TextWriter _out;

    private ProgressLine(string label, LiveCounters c, RunClock clock, TextWriter output)
    {
        _out = output;
        _render = () => string.Create(CultureInfo.InvariantCulture,
            $"[{label}] {clock.Now,6:F1}s  sent {c.Started}  done {c.Completed}  failed {c.Failed}  in flight {c.InFlight}  {c.OutputTokens / Math.Max(clock.Now, 1e-3),8:F1} out tok/s");
        _loop = LoopAsync();
    }

    public static ProgressLine Start(string label, LiveCounters counters, RunClock clock, TextWriter output) => new(label, counters, clock, output);

    private bool Terminal => ReferenceEquals(_out, Console.Error) && !Console.IsErrorRedirected;

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token)) await _out.WriteAsync(Terminal ? "\r" + _render() : _render() + Environment.NewLine);
        }
        catch (OperationCanceledException) { }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        await _out.WriteLineAsync((Terminal ? "\r" : "") + _render());
        _stop.Dispose();
    }
}
