using System.Diagnostics;

namespace InferServe.ChatTemplates.Runtime;

/// <summary>
/// The sandbox limits of one render: loop iterations, macro call depth, string sizes and wall-clock time.
/// Templates come from model repositories, so every way a template can spend time or memory passes through here,
/// and going over any limit is a <see cref="ChatTemplateErrorKind.LimitExceeded"/> error that names the limit.
/// </summary>
internal sealed class RenderBudget
{
    private readonly ChatTemplateOptions _options;
    private readonly long _deadline;
    private int _iterations;
    private int _callDepth;
    private int _ticks;

    public RenderBudget(ChatTemplateOptions options)
    {
        _options = options;
        long ticks = (long)(options.MaxRenderTime.TotalSeconds * Stopwatch.Frequency);
        _deadline = options.MaxRenderTime == Timeout.InfiniteTimeSpan || ticks <= 0 ? long.MaxValue : Stopwatch.GetTimestamp() + ticks;
    }

    public int MaxOutputChars => _options.MaxOutputChars;

    public void CountIterations(long n = 1)
    {
        long total = _iterations + n;
        if (n < 0 || total > _options.MaxLoopIterations)
            throw Exceeded($"Template exceeded {_options.MaxLoopIterations} loop iterations");
        _iterations = (int)total;
        CheckTime();
    }

    public void EnterCall(Func<string, ChatTemplateException> error)
    {
        if (_callDepth >= _options.MaxCallDepth)
            throw error($"Macro calls nested deeper than {_options.MaxCallDepth}");
        _callDepth++;
        CheckTime();
    }

    public void ExitCall() => _callDepth--;

    /// <summary>Throws when a string of <paramref name="length"/> characters would exceed the output limit; call before building it.</summary>
    public void CheckLength(long length)
    {
        if (length > _options.MaxOutputChars)
            throw Exceeded($"Template output exceeded {_options.MaxOutputChars} characters");
    }

    /// <summary>For work inside one built-in (sorting, de-duplicating, serializing): checks the clock every 1024 calls.</summary>
    public void Tick()
    {
        if ((++_ticks & 1023) == 0) CheckTime();
    }

    public void CheckTime()
    {
        if (Stopwatch.GetTimestamp() > _deadline)
            throw Exceeded($"Template rendering exceeded its time limit of {_options.MaxRenderTime.TotalMilliseconds:0} ms");
    }

    private static ChatTemplateException Exceeded(string message) => new(ChatTemplateErrorKind.LimitExceeded, message);
}
