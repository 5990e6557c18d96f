using InferServe.ChatTemplates;

namespace InferServe.Server;

/// <summary>
/// The chat-template sandbox (options pattern: "InferServe:ChatTemplateLimits", e.g. INFERSERVE__ChatTemplateLimits__MaxRenderTimeMs).
/// Templates are code from model repositories; a render over any of these limits fails its request and nothing else.
/// </summary>
public sealed class ChatTemplateLimits
{
    /// <summary>Wall-clock limit of one render, in milliseconds.</summary>
    public int MaxRenderTimeMs { get; set; } = 1000;
    /// <summary>Loop iterations (and range() sizes) summed over one render.</summary>
    public int MaxLoopIterations { get; set; } = 1_000_000;
    /// <summary>Nesting of macro calls, recursion included.</summary>
    public int MaxCallDepth { get; set; } = 64;
    /// <summary>Length of the rendered prompt and of any string built on the way (UTF-16 characters).</summary>
    public int MaxOutputChars { get; set; } = 8 * 1024 * 1024;

    public ChatTemplateOptions ToOptions() => ChatTemplateOptions.Default with
    {
        MaxRenderTime = TimeSpan.FromMilliseconds(Math.Max(1, MaxRenderTimeMs)),
        MaxLoopIterations = Math.Max(1, MaxLoopIterations),
        MaxCallDepth = Math.Max(1, MaxCallDepth),
        MaxOutputChars = Math.Max(1, MaxOutputChars),
    };
}
