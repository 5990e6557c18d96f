using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using InferServe.Tokenization.HuggingFace;

namespace InferServe.Tokenization.Tests;

public sealed class LoaderErrorTests : IDisposable
{
    private readonly TinyTokenizerJson _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void Missing_path_names_the_path()
    {
        string path = Path.Combine(_files.Directory, "nope.json");
        var e = Assert.Throws<TokenizerLoadException>(() => TokenizerLoader.Load(path));
        Assert.Equal(path, e.FilePath);
    }

    [Fact]
    public void Directory_without_tokenizer_files_is_rejected()
    {
        var e = Assert.Throws<TokenizerLoadException>(() => TokenizerLoader.Load(_files.Directory));
        Assert.Contains("tokenizer.json", e.Message);
    }

    [Fact]
    public void Malformed_json_names_the_file()
    {
        File.WriteAllText(_files.TokenizerPath, "{ \"model\": ");
        var e = Assert.Throws<TokenizerLoadException>(() => TokenizerLoader.Load(_files.TokenizerPath));
        Assert.Equal(_files.TokenizerPath, e.FilePath);
        Assert.Contains("malformed JSON", e.Message);
    }

    [Theory]
    [InlineData("Unigram")]
    [InlineData("WordPiece")]
    public void Unsupported_model_types_are_named(string type)
    {
        var json = TinyTokenizerJson.ByteLevel([], new JsonArray());
        json["model"]!["type"] = type;
        var e = Assert.Throws<TokenizerLoadException>(() => _files.Load(json));
        Assert.Contains($"model.type '{type}'", e.Message);
    }

    [Fact]
    public void Missing_vocab_names_the_field()
    {
        var json = TinyTokenizerJson.ByteLevel([], new JsonArray());
        ((JsonObject)json["model"]!).Remove("vocab");
        var e = Assert.Throws<TokenizerLoadException>(() => _files.Load(json));
        Assert.Contains("model.vocab", e.Message);
    }

    [Fact]
    public void Merge_with_unknown_token_names_the_merge()
    {
        var e = Assert.Throws<TokenizerLoadException>(() => _files.Load(TinyTokenizerJson.ByteLevel([], new JsonArray("a b"))));
        Assert.Contains("model.merges[0]", e.Message);
    }

    [Fact]
    public void Malformed_tokenizer_config_names_that_file()
    {
        var json = TinyTokenizerJson.ByteLevel([], new JsonArray());
        var e = Assert.Throws<TokenizerLoadException>(() => _files.Load(json, new JsonObject { ["eos_token"] = 5 }));
        Assert.EndsWith("tokenizer_config.json", e.FilePath);
    }
}

public sealed class PatternTests
{
    [Theory]
    [InlineData(@"a?+b", @"(?>a?)b")]
    [InlineData(@"[^\s\p{L}]++x", @"(?>[^\s\p{L}]+)x")]
    [InlineData(@"(ab)*+", @"(?>(ab)*)")]
    [InlineData(@"\p{N}{1,3}+", @"(?>\p{N}{1,3})")]
    [InlineData(@"\p{L}+?", @"\p{L}+?")]
    [InlineData(@"(?i:'s|'t)|\s+(?!\S)", @"(?i:'s|'t)|\s+(?!\S)")]
    [InlineData(@"[+*?]+", @"[+*?]+")]
    public void Possessive_quantifiers_become_atomic_groups(string pattern, string expected)
    {
        Assert.Equal(expected, PatternTranslator.ToDotNet(pattern));
    }

    [Fact]
    public void Possessive_pattern_behaves_possessively()
    {
        // "a++a" can never match: the possessive run gives nothing back.
        Assert.DoesNotMatch(new Regex(PatternTranslator.ToDotNet("a++a")), "aaaa");
        Assert.Matches(new Regex(PatternTranslator.ToDotNet("a+a")), "aaaa");
    }

    [Fact]
    public void Astral_characters_are_matched_as_whole_code_points_of_their_category()
    {
        var regex = new CodePointRegex(new Regex(@"[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|\s+|[^\s\p{L}\p{N}]+"));
        var matches = new List<(int Start, int Length)>();
        string text = "😀abc 𝐀𝐁 𝟙";
        regex.FindMatches(text, matches);
        Assert.Equal(["😀abc", " 𝐀𝐁", " ", "𝟙"], matches.Select(m => text.Substring(m.Start, m.Length)));
    }

    [Theory]
    [InlineData("Cafe\u0301", "Caf\u00E9")]
    [InlineData("\u1100\u1161\u11A8", "\uAC01")] // Hangul L+V+T
    [InlineData("a\u0323\u0307", "\u1EA1\u0307")] // reordered marks compose with the first one
    [InlineData("plain ascii", "plain ascii")]
    public void Nfc_composes_without_platform_globalization(string input, string expected)
    {
        Assert.Equal(expected, Tokenization.Unicode.UnicodeNormalization.Normalize(input, System.Text.NormalizationForm.FormC));
    }

    [Fact]
    public void Nfkd_applies_compatibility_decompositions()
    {
        Assert.Equal("fi 1", Tokenization.Unicode.UnicodeNormalization.Normalize("\uFB01\u00A0\u00B9", System.Text.NormalizationForm.FormKD));
    }
}
