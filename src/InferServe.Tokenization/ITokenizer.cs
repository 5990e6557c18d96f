namespace InferServe.Tokenization;

/// <summary>A text tokenizer for one model: thread-safe, immutable after loading.</summary>
public interface ITokenizer
{
    int VocabSize { get; }
    int? BosTokenId { get; }

    /// <summary>End-of-sequence ids from the tokenizer's own config (tokenizer_config.json, generation_config.json).</summary>
    IReadOnlyList<int> EosTokenIds { get; }

    /// <summary>Whether <see cref="Encode"/> with addSpecialTokens prepends BOS.</summary>
    bool AddBosToken { get; }

    /// <summary>Encodes text; special-token strings inside it (e.g. "&lt;|eot_id|&gt;") map to their ids.</summary>
    int[] Encode(string text, bool addSpecialTokens = true);

    /// <summary>Decodes ids to text. Ids outside the vocabulary decode to nothing.</summary>
    string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true);

    /// <summary>A per-sequence streaming decoder; see <see cref="IncrementalDecoder"/>.</summary>
    IncrementalDecoder CreateIncrementalDecoder(bool skipSpecialTokens = true);

    /// <summary>The exact bytes token <paramref name="id"/> stands for in generated text (no leading-space rule); empty for ids outside the vocabulary.</summary>
    ReadOnlySpan<byte> TokenBytes(int id);

    bool IsSpecialToken(int id);
    string? IdToToken(int id);
    int? TokenToId(string token);
}
