using System.Text;
using InferServe.Grammar;

namespace InferServe.Server.Tools;

/// <summary>
/// Turns a forced tool choice into a GBNF grammar in the model's tool-call format, so the sampler can only produce a call
/// to an allowed function whose arguments follow its parameter schema. The grammar spells the format's marker
/// (<c>&lt;tool_call&gt;</c>, <c>[TOOL_CALLS]</c>) as bytes: where a vocabulary has it as a special token, the grammar
/// engine gives that token no bytes and masks it, so the model writes the marker in ordinary pieces and the text the
/// parser reads is the same. JSON is compact, so an output cannot run on in whitespace.
/// </summary>
internal static class ToolCallGrammar
{
    /// <summary>Throws a 400 naming the tool whose parameter schema the grammar engine refuses.</summary>
    public static GrammarSpec Build(ToolCallConstraint constraint, ToolCallParser parser)
    {
        var sb = new StringBuilder();
        string argumentsKey = parser is Llama3JsonToolCallParser ? "parameters" : "arguments";
        var calls = new List<string>(constraint.Functions.Count);
        for (int i = 0; i < constraint.Functions.Count; i++)
        {
            var fn = constraint.Functions[i];
            string prefix = $"t{i}-";
            string arguments;
            if (fn.Parameters is { } schema)
            {
                try
                {
                    sb.Append(Grammars.JsonSchemaToGbnf(schema.GetRawText(), prefix));
                }
                catch (GrammarException e)
                {
                    throw ApiException.BadRequest($"The parameters of tool '{fn.Name}' cannot be enforced for 'tool_choice': {e.Message}", "tools");
                }
                arguments = prefix + "root";
            }
            else
            {
                arguments = "\"{}\""; // a function without parameters takes no arguments
            }
            // Names are [a-zA-Z0-9_-]: nothing to escape inside a GBNF literal.
            sb.Append($"call{i} ::= \"{{\\\"name\\\": \\\"{fn.Name}\\\", \\\"{argumentsKey}\\\": \" {arguments} \"}}\"\n");
            calls.Add($"call{i}");
        }
        sb.Append("call ::= ").Append(string.Join(" | ", calls)).Append('\n');
        bool many = constraint.Parallel;
        sb.Append(parser switch
        {
            HermesToolCallParser => "one ::= \"<tool_call>\\n\" call \"\\n</tool_call>\"\n" + (many ? "root ::= one (\"\\n\" one)*\n" : "root ::= one\n"),
            MistralToolCallParser => many ? "root ::= \"[TOOL_CALLS][\" call (\", \" call)* \"]\"\n" : "root ::= \"[TOOL_CALLS][\" call \"]\"\n",
            Llama3JsonToolCallParser => many ? "root ::= call (\"; \" call)*\n" : "root ::= call\n",
            _ => throw new InvalidOperationException($"No tool-call grammar for the '{parser.Name}' format."),
        });
        var spec = new GrammarSpec(GrammarKind.Gbnf, sb.ToString(), "tool_choice");
        try
        {
            Grammars.Compile(spec); // fail here with a 400, not later in the engine
        }
        catch (GrammarException e)
        {
            throw ApiException.BadRequest($"The tools cannot be enforced for 'tool_choice': {e.Message}", "tools");
        }
        return spec;
    }
}
