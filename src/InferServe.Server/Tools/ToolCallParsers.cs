namespace InferServe.Server.Tools;

/// <summary>The supported tool-call formats, by <c>--tool-call-parser</c> name or recognised from the chat template's text.</summary>
internal static class ToolCallParsers
{
    public static readonly string[] Names = ["auto", "llama3", "hermes", "mistral", "none"];

    /// <summary>
    /// The parser for a setting: a format name, "none", or "auto"/null (recognise the template). Returns null when tool calls
    /// are not parsed. Throws <see cref="ArgumentException"/> for an unknown name.
    /// </summary>
    public static ToolCallParser? Resolve(string? setting, string? templateSource) => (setting ?? "auto").ToLowerInvariant() switch
    {
        "auto" => Detect(templateSource),
        "none" => null,
        var name => Create(name) ?? throw new ArgumentException($"Unknown tool-call parser '{setting}'; use {string.Join(", ", Names)}."),
    };

    public static ToolCallParser? Create(string name) => name switch
    {
        "llama3" or "llama3_json" => new Llama3JsonToolCallParser(),
        "hermes" or "qwen" or "qwen2.5" => new HermesToolCallParser(),
        "mistral" => new MistralToolCallParser(),
        _ => null,
    };

    /// <summary>Recognises a format by the markers its chat template writes into the prompt.</summary>
    public static ToolCallParser? Detect(string? templateSource)
    {
        if (string.IsNullOrEmpty(templateSource)) return null;
        if (templateSource.Contains(HermesToolCallParser.Open, StringComparison.Ordinal)) return new HermesToolCallParser();
        if (templateSource.Contains(MistralToolCallParser.Marker, StringComparison.Ordinal)) return new MistralToolCallParser();
        // Llama 3.1+: the ipython role and python tag, or the JSON function-calling instructions with "parameters".
        if (templateSource.Contains(Llama3JsonToolCallParser.PythonTag, StringComparison.Ordinal)
            || (templateSource.Contains("<|eot_id|>", StringComparison.Ordinal) && templateSource.Contains("\"parameters\"", StringComparison.Ordinal)))
        {
            return new Llama3JsonToolCallParser();
        }

        return null;
    }
}
