using System.Text.Json;

namespace InferServe.LoadTests.Datasets;

/// <summary>
/// Real data: one JSON object a line, either {"prompt": "..."} or {"messages": [{"role","content"}, ...]}, each with
/// an optional "max_tokens" (else <paramref name="defaultMaxTokens"/>). Requests take the lines in a seeded shuffle.
/// </summary>
public sealed class JsonlDataset : IDataset
{
    private readonly Prompt[] _prompts;
    private readonly string _path;
    private readonly int _seed;

    public JsonlDataset(string path, int defaultMaxTokens, int seed)
    {
        _path = path;
        _seed = seed;
        var prompts = new List<Prompt>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try { prompts.Add(Parse(line, defaultMaxTokens)); }
            catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException)
            {
                throw new FormatException($"{path}:{lineNo}: {e.Message}");
            }
        }
        if (prompts.Count == 0) throw new FormatException($"{path} holds no prompts.");
        var order = prompts.ToArray();
        new Random(seed).Shuffle(order);
        _prompts = order;
    }

    public int Count => _prompts.Length;

    public string Describe() => $"jsonl {_path} ({_prompts.Length} prompts) seed {_seed}";

    public Prompt Get(long index) => _prompts[index % _prompts.Length];

    internal static Prompt Parse(string line, int defaultMaxTokens)
    {
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        int maxTokens = root.TryGetProperty("max_tokens", out var m) ? m.GetInt32() : defaultMaxTokens;
        if (root.TryGetProperty("messages", out var msgs))
        {
            var messages = msgs.EnumerateArray()
                .Select(x => new ChatMessage(x.GetProperty("role").GetString()!, x.GetProperty("content").GetString()!)).ToArray();
            return new Prompt(null, string.Join("\n", messages.Select(x => x.Content)), messages, maxTokens);
        }
        return new Prompt(null, root.GetProperty("prompt").GetString()!, null, maxTokens);
    }
}
