namespace InferServe.ChatTemplates.Lexing;

/// <summary>Turns source indices into 1-based line/column for error messages.</summary>
internal sealed class SourceText(string source)
{
    public string Source { get; } = source;

    public (int Line, int Column) LineColumn(int index)
    {
        index = Math.Clamp(index, 0, Source.Length);
        int line = 1, lineStart = 0;
        for (int i = 0; i < index; i++)
        {
            if (Source[i] == '\n') { line++; lineStart = i + 1; }
        }
        return (line, index - lineStart + 1);
    }

    public ChatTemplateException SyntaxError(string message, int index)
    {
        var (line, column) = LineColumn(index);
        return new ChatTemplateException(ChatTemplateErrorKind.Syntax, message, line, column);
    }
}
