namespace InferServe.ChatTemplates;

/// <summary>Safety caps and clock for rendering. Templates are untrusted input: they must not hang or exhaust the server.</summary>
public sealed record ChatTemplateOptions
{
    public static ChatTemplateOptions Default { get; } = new();

    /// <summary>Maximum length (UTF-16 chars) of the rendered prompt and of any intermediate string.</summary>
    public int MaxOutputChars { get; init; } = 8 * 1024 * 1024;

    /// <summary>Maximum loop iterations summed over one render (also bounds range() sizes).</summary>
    public int MaxLoopIterations { get; init; } = 1_000_000;

    /// <summary>Maximum macro call nesting (recursive macros included).</summary>
    public int MaxCallDepth { get; init; } = 64;

    /// <summary>Wall-clock limit of one render (Timeout.InfiniteTimeSpan: none). Real chat templates render in well under a millisecond.</summary>
    public TimeSpan MaxRenderTime { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Maximum nesting of the template's syntax tree (guards the parser and evaluator stacks).</summary>
    public int MaxNestingDepth { get; init; } = 200;

    /// <summary>Clock for strftime_now (local time of this provider).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
