namespace InferServe.LoadTests.Datasets;

public sealed record ChatMessage(string Role, string Content);

/// <summary>
/// One request's input. Token ids (when set) go to the completions and gRPC APIs as they are; chat sends
/// <see cref="Messages"/>, or <see cref="Text"/> as one user message.
/// </summary>
public sealed record Prompt(int[]? TokenIds, string Text, IReadOnlyList<ChatMessage>? Messages, int MaxTokens)
{
    public IReadOnlyList<ChatMessage> ChatMessages => Messages ?? [new ChatMessage("user", Text)];
}

/// <summary>A source of prompts. Deterministic for a given seed, so a run can be repeated.</summary>
public interface IDataset
{
    string Describe();

    /// <summary>The prompt of request number <paramref name="index"/> (datasets cycle when they run out).</summary>
    Prompt Get(long index);
}
