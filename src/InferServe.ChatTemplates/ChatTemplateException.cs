namespace InferServe.ChatTemplates;

/// <summary>What went wrong, so the gateway can map it to a status code.</summary>
public enum ChatTemplateErrorKind
{
    /// <summary>The template source is not valid (reported with line/column).</summary>
    Syntax,
    /// <summary>Evaluation failed (type error, unknown filter, ...): a broken template.</summary>
    Runtime,
    /// <summary>The template itself called raise_exception(msg): usually a bad request (e.g. roles not alternating).</summary>
    Raised,
    /// <summary>A safety cap (loop iterations, call depth, output size) was hit.</summary>
    LimitExceeded,
}

public sealed class ChatTemplateException : Exception
{
    public ChatTemplateErrorKind Kind { get; }

    /// <summary>1-based position in the original template source, when known.</summary>
    public int? Line { get; }
    public int? Column { get; }

    public ChatTemplateException(string message)
        : this(ChatTemplateErrorKind.Runtime, message) { }

    public ChatTemplateException(ChatTemplateErrorKind kind, string message, int? line = null, int? column = null, Exception? inner = null)
        : base(line is null ? message : $"{message} (line {line}, column {column})", inner)
    {
        Kind = kind;
        Line = line;
        Column = column;
    }
}
