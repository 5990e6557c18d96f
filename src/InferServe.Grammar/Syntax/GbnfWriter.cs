using System.Text;

namespace InferServe.Grammar.Syntax;

/// <summary>
/// Writes grammar rules back as GBNF, so a compiled JSON schema can be embedded in a larger grammar (a tool call's
/// arguments, a bench's endless stream). Rule names get a prefix so several schemas can share one grammar.
/// </summary>
public static class GbnfWriter
{
    public static string Write(GrammarDefinition def, string prefix = "")
    {
        var sb = new StringBuilder();
        foreach (var (name, node) in def.Rules)
        {
            sb.Append(prefix).Append(name).Append(" ::= ");
            if (node is ChoiceNode c) AppendOptions(sb, c, prefix);
            else Append(sb, node, prefix);
            sb.Append('\n');
        }
        return sb.ToString();
    }

    private static void AppendOptions(StringBuilder sb, ChoiceNode c, string prefix)
    {
        for (int i = 0; i < c.Options.Count; i++)
        {
            if (i > 0) sb.Append(" | ");
            Append(sb, c.Options[i], prefix);
        }
    }

    private static void Append(StringBuilder sb, GrammarNode node, string prefix)
    {
        switch (node)
        {
            case LiteralNode l:
                sb.Append('"');
                foreach (var rune in Encoding.UTF8.GetString(l.Bytes).EnumerateRunes())
                    AppendChar(sb, rune.Value, inClass: false);
                sb.Append('"');
                break;
            case CharClassNode c:
                sb.Append('[');
                foreach (var (lo, hi) in c.Ranges)
                {
                    AppendChar(sb, lo, inClass: true);
                    if (hi != lo)
                    {
                        sb.Append('-');
                        AppendChar(sb, hi, inClass: true);
                    }
                }
                sb.Append(']');
                break;
            case RuleRefNode r:
                sb.Append(prefix).Append(r.Name);
                break;
            case SequenceNode s when s.Items.Count == 0:
                sb.Append("\"\"");
                break;
            case SequenceNode s:
                sb.Append('(');
                for (int i = 0; i < s.Items.Count; i++)
                {
                    if (i > 0) sb.Append(' ');
                    Append(sb, s.Items[i], prefix);
                }
                sb.Append(')');
                break;
            case ChoiceNode c:
                sb.Append('(');
                AppendOptions(sb, c, prefix);
                sb.Append(')');
                break;
            case RepeatNode r:
                sb.Append('(');
                Append(sb, r.Item, prefix);
                sb.Append(')');
                sb.Append((r.Min, r.Max) switch
                {
                    (0, -1) => "*",
                    (1, -1) => "+",
                    (0, 1) => "?",
                    (var m, -1) => $"{{{m},}}",
                    var (m, n) when m == n => $"{{{m}}}",
                    var (m, n) => $"{{{m},{n}}}",
                });
                break;
            default:
                throw new ArgumentException($"Unknown grammar node {node.GetType().Name}.");
        }
    }

    private static void AppendChar(StringBuilder sb, int cp, bool inClass)
    {
        if (cp < 0x20 || cp == 0x7F) sb.Append($"\\x{cp:X2}");
        else if (cp is '"' or '\\' || (inClass && cp is ']' or '-' or '^' or '[')) sb.Append('\\').Append((char)cp);
        else if (cp > 0xFFFF) sb.Append($"\\U{cp:X8}");
        else if (cp > 0x7E) sb.Append($"\\u{cp:X4}");
        else sb.Append((char)cp);
    }
}
