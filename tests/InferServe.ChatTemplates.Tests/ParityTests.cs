namespace InferServe.ChatTemplates.Tests;

/// <summary>
/// Real chat templates × conversations: our output must equal @huggingface/jinja's byte for byte,
/// and where the reference raises (raise_exception) we must raise the same message.
/// The reference renders every case once per test run (one node process).
/// </summary>
public sealed class ParityTests
{
    private static readonly Lazy<IReadOnlyDictionary<string, ReferenceRenderer.Result>> Reference = new(() =>
        ReferenceRenderer.RenderAll(ParityCases.All().Select(c =>
            new ReferenceRenderer.Case(c.Id, File.ReadAllText(RepoPaths.Template(c.Template.File)), ParityCases.ReferenceContext(c)))));

    private static readonly Dictionary<string, ChatTemplate> Parsed = ParityCases.Templates.ToDictionary(
        t => t.Name, t => ChatTemplate.Parse(File.ReadAllText(RepoPaths.Template(t.File))));

    public static TheoryData<string> CaseIds => new(ParityCases.All().Select(c => c.Id));

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void Render_matches_reference_byte_for_byte(string id)
    {
        ReferenceRenderer.RequireAvailable();
        var c = ParityCases.All().Single(x => x.Id == id);
        var expected = Reference.Value[id];
        var template = Parsed[c.Template.Name];

        string Render() => template.Render(c.Conversation.Messages, c.AddGenerationPrompt, c.Template.Bos, c.Template.Eos, c.Conversation.Extra);

        if (expected.Error is not null)
        {
            var ex = Assert.Throws<ChatTemplateException>(Render);
            Assert.Equal(ChatTemplateErrorKind.Raised, ex.Kind);
            Assert.Equal(expected.Error, ex.Message);
            return;
        }
        Assert.Equal(expected.Output, Render());
    }

    [Fact]
    public void Every_parity_case_renders_something_nontrivial_in_the_reference()
    {
        ReferenceRenderer.RequireAvailable();
        var errors = Reference.Value.Where(r => r.Value.Error is not null).Select(r => r.Key).ToList();
        Assert.Equal(["mistral/not_alternating/gen"], errors);
        Assert.All(Reference.Value.Values.Where(r => r.Output is not null), r => Assert.True(r.Output!.Length > 20));
    }
}
