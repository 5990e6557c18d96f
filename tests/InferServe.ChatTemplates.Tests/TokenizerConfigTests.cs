namespace InferServe.ChatTemplates.Tests;

public sealed class TokenizerConfigTests
{
    [Fact]
    public void Reads_a_string_chat_template_from_a_real_tokenizer_config()
    {
        var template = ChatTemplate.FromTokenizerConfig(RepoPaths.Template("qwen2.5.tokenizer_config.json"));
        Assert.NotNull(template);
        Assert.Equal(File.ReadAllText(RepoPaths.Template("qwen2.5.jinja")), template.Source);
    }

    [Fact]
    public void Picks_the_default_entry_from_a_list_of_named_templates()
    {
        const string json = """{"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D{{ 1 }}"}]}""";
        Assert.Equal("D{{ 1 }}", ChatTemplate.ReadTemplateSource(json));
    }

    [Theory]
    [InlineData("""{"bos_token": "<s>"}""")]
    [InlineData("""{"chat_template": null}""")]
    [InlineData("""{"chat_template": [{"name": "rag", "template": "R"}]}""")]
    public void Returns_null_when_there_is_no_usable_template(string json)
    {
        Assert.Null(ChatTemplate.ReadTemplateSource(json));
        string path = Path.Combine(Path.GetTempPath(), $"tc-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        try { Assert.Null(ChatTemplate.FromTokenizerConfig(path)); }
        finally { File.Delete(path); }
    }
}
