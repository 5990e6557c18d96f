using System.Text.Json.Nodes;

namespace InferServe.Tokenization.Tests;

/// <summary>Single tokenizer.json behaviours on hand-made files (no downloads needed).</summary>
public sealed class BpeBehaviourTests : IDisposable
{
    private readonly TinyTokenizerJson _files = new();

    public void Dispose() => _files.Dispose();

    private static readonly string[] HelloPieces = ["▁", "h", "e", "l", "o", "he", "ll", "hell", "hello", "▁hello"];

    [Fact]
    public void Merges_as_strings_and_as_pairs_encode_identically()
    {
        var asStrings = new JsonArray("h e", "l l", "he ll", "hell o", "▁ hello");
        var asPairs = new JsonArray(new JsonArray("h", "e"), new JsonArray("l", "l"), new JsonArray("he", "ll"), new JsonArray("hell", "o"), new JsonArray("▁", "hello"));
        var a = _files.Load(TinyTokenizerJson.SentencePiece(HelloPieces, asStrings));
        int[] fromStrings = a.Encode("hello hello");
        var b = _files.Load(TinyTokenizerJson.SentencePiece(HelloPieces, asPairs));
        Assert.Equal(fromStrings, b.Encode("hello hello"));
        Assert.Equal([1, a.TokenToId("▁hello")!.Value, a.TokenToId("▁hello")!.Value], fromStrings);
    }

    [Fact]
    public void Lower_merge_rank_wins_and_ties_go_leftmost()
    {
        // "ll" outranks "he", so "hell" can only form via he + ll; "lll" merges its leftmost pair.
        var tok = _files.Load(TinyTokenizerJson.SentencePiece(HelloPieces, new JsonArray("l l", "h e", "he ll")));
        int id(string t) => tok.TokenToId(t)!.Value;
        Assert.Equal([id("▁"), id("hell")], tok.Encode("hell", addSpecialTokens: false));
        Assert.Equal([id("▁"), id("ll"), id("l")], tok.Encode("lll", addSpecialTokens: false));
    }

    [Fact]
    public void Unknown_characters_use_byte_fallback_and_decode_back()
    {
        var tok = _files.Load(TinyTokenizerJson.SentencePiece(HelloPieces, new JsonArray("h e")));
        int[] ids = tok.Encode("he 你", addSpecialTokens: false);
        Assert.Equal([0xE4 + 3, 0xBD + 3, 0xA0 + 3], ids[^3..]);
        Assert.Equal("he 你", tok.Decode(ids));

        var decoder = tok.CreateIncrementalDecoder();
        Assert.Equal(["", "he", " ", "", "", "你"], ids.Select(decoder.Push)); // "▁" opens the text: stripped
    }

    [Fact]
    public void Without_byte_fallback_unknown_runs_fuse_into_one_unk()
    {
        var json = TinyTokenizerJson.SentencePiece(HelloPieces, new JsonArray("h e"));
        json["model"]!["byte_fallback"] = false;
        var tok = _files.Load(json);
        Assert.Equal([tok.TokenToId("▁")!.Value, 0, tok.TokenToId("he")!.Value], tok.Encode("你好he", addSpecialTokens: false));

        json["model"]!["fuse_unk"] = false;
        tok = _files.Load(json);
        Assert.Equal([tok.TokenToId("▁")!.Value, 0, 0, tok.TokenToId("he")!.Value], tok.Encode("你好he", addSpecialTokens: false));
    }

    [Fact]
    public void Ignore_merges_takes_a_whole_word_found_in_the_vocabulary()
    {
        var json = TinyTokenizerJson.ByteLevel(["he", "lo", "hello"], new JsonArray("h e", "l o")); // no merge path builds "hello"
        var tok = _files.Load(json);
        int id(string t) => tok.TokenToId(t)!.Value;
        Assert.Equal([id("he"), id("l"), id("lo")], tok.Encode("hello"));

        json["model"]!["ignore_merges"] = true;
        tok = _files.Load(json);
        Assert.Equal([id("hello")], tok.Encode("hello"));
    }

    [Fact]
    public void Byte_level_tokens_that_split_a_character_stream_out_only_when_complete()
    {
        var tok = _files.Load(TinyTokenizerJson.ByteLevel([], new JsonArray()));
        int[] ids = tok.Encode("你好");
        Assert.Equal(6, ids.Length);
        var decoder = tok.CreateIncrementalDecoder();
        Assert.Equal(["", "", "你", "", "", "好"], ids.Select(decoder.Push));
        Assert.Equal("", decoder.Flush());
    }

    [Fact]
    public void Special_token_strings_map_to_their_ids_and_are_skipped_on_decode()
    {
        var tok = _files.Load(TinyTokenizerJson.ByteLevel([], new JsonArray()));
        int eot = tok.TokenToId("<|eot|>")!.Value;
        int[] ids = tok.Encode("a<|eot|>b");
        Assert.Equal([tok.TokenToId("a")!.Value, eot, tok.TokenToId("b")!.Value], ids);
        Assert.True(tok.IsSpecialToken(eot));
        Assert.Equal("ab", tok.Decode(ids));
        Assert.Equal("a<|eot|>b", tok.Decode(ids, skipSpecialTokens: false));
    }

    [Fact]
    public void Lstrip_and_rstrip_added_tokens_swallow_adjacent_whitespace()
    {
        var json = TinyTokenizerJson.ByteLevel([], new JsonArray());
        ((JsonArray)json["added_tokens"]!)[0] = TinyTokenizerJson.Added(256, "<|eot|>", lstrip: true, rstrip: true);
        var tok = _files.Load(json);
        Assert.Equal(tok.Encode("a<|eot|>b"), tok.Encode("a  <|eot|>\n b"));
    }

    [Fact]
    public void Config_names_bos_and_eos_and_can_turn_bos_off()
    {
        var json = TinyTokenizerJson.SentencePiece(HelloPieces, new JsonArray("h e"));
        var tok = _files.Load(json, new JsonObject { ["bos_token"] = new JsonObject { ["content"] = "<s>" }, ["eos_token"] = "</s>", ["add_bos_token"] = false });
        Assert.Equal(1, tok.BosTokenId);
        Assert.Equal([2], tok.EosTokenIds);
        Assert.False(tok.AddBosToken);
        Assert.NotEqual(1, tok.Encode("he")[0]);

        tok = _files.Load(json, new JsonObject { ["bos_token"] = "<s>", ["eos_token"] = "</s>", ["add_eos_token"] = true });
        Assert.True(tok.AddBosToken);
        int[] ids = tok.Encode("he");
        Assert.Equal(1, ids[0]);
        Assert.Equal(2, ids[^1]);
    }

    [Fact]
    public void Metaspace_pre_tokenizer_with_prepend_first_prepends_only_at_the_start_of_the_text()
    {
        var json = TinyTokenizerJson.SentencePiece(HelloPieces, new JsonArray("h e", "l l", "he ll", "hell o", "▁ hello"));
        json["normalizer"] = null;
        json["pre_tokenizer"] = JsonNode.Parse("""{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":true}""");
        json["decoder"] = JsonNode.Parse("""{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":true}""");
        var tok = _files.Load(json);
        int hello = tok.TokenToId("hello")!.Value, spaceHello = tok.TokenToId("▁hello")!.Value;
        Assert.Equal([1, spaceHello, spaceHello], tok.Encode("hello hello"));
        Assert.Equal([1, 1, hello], tok.Encode("<s>hello")); // text after a special token is not at the start
        Assert.Equal("hello hello", tok.Decode(tok.Encode("hello hello")));
    }

    [Fact]
    public void Out_of_range_ids_decode_to_nothing()
    {
        var tok = _files.Load(TinyTokenizerJson.ByteLevel([], new JsonArray()));
        Assert.Equal("a", tok.Decode([tok.TokenToId("a")!.Value, 1_000_000, -5]));
        Assert.Null(tok.IdToToken(1_000_000));
    }
}
