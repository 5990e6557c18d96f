using System.CommandLine;
using InferServe.Cli.Options;
using InferServe.Engine;
using InferServe.Grammar;

namespace InferServe.Cli;

/// <summary>
/// `bench --json-schema FILE`: decode under a JSON schema against free decode, in alternating rounds on one engine.
/// The schema is repeated endlessly (one JSON value per line), so every request still produces exactly
/// --gen-tokens tokens and both modes decode the same amount.
/// </summary>
internal sealed class StructuredBench(GrammarSpec grammar, int rounds)
{
    private static readonly Option<string?> JsonSchema = Opt.Text("--json-schema", "also decode under this JSON schema, alternating with free decode", helpName: "FILE");
    private static readonly Option<int?> Rounds = Opt.Int("--rounds", "--json-schema: alternating free/constrained rounds", 1, 100, 2);

    public static IEnumerable<Option> Options => [JsonSchema, Rounds];

    public static StructuredBench? FromCli(ParseResult p)
    {
        var file = p.GetValue(JsonSchema);
        int rounds = p.GetValue(Rounds)!.Value;
        if (file is null) return null;
        if (!File.Exists(file)) throw new UsageException($"--json-schema: no such file '{file}'.");
        string gbnf;
        try { gbnf = Grammars.JsonSchemaToGbnf(File.ReadAllText(file), "s-") + "root ::= s-root \"\\n\" root\n"; }
        catch (GrammarException e) { throw new UsageException($"--json-schema: {e.Message}"); }
        return new StructuredBench(new GrammarSpec(GrammarKind.Gbnf, gbnf, "--json-schema"), rounds);
    }

    public async Task<List<(string Mode, BenchCommand.Result Result)>> RunAsync(LlmEngine engine, Func<GrammarSpec?, Task<BenchCommand.Result>> level)
    {
        var results = new List<(string, BenchCommand.Result)>();
        for (int round = 0; round < rounds; round++)
        {
            results.Add(("free", (await level(null)) with { Mode = "free" }));
            var timings = engine.GrammarTimings;
            long tokens = timings.Tokens;
            var total = timings.Total;
            var r = await level(grammar);
            double ms = timings.Tokens > tokens ? (timings.Total - total).TotalMilliseconds / (timings.Tokens - tokens) : 0;
            results.Add(("json-schema", r with { Mode = "json-schema", MaskMsPerToken = Math.Round(ms, 4) }));
        }
        return results;
    }

    /// <summary>Per concurrency: mean decode rates of both modes over the rounds and the constrained loss.</summary>
    public static void PrintComparison(List<BenchCommand.Result> results)
    {
        Console.WriteLine($"{"C",4} {"free decode tok/s",18} {"schema decode tok/s",20} {"loss",7} {"free batch",11} {"schema batch",13} {"loss",7} {"mask ms/token",14}");
        foreach (var group in results.GroupBy(r => (r.Weights, r.KvDtype, r.AttentionThreads, r.Concurrency)))
        {
            var free = group.Where(r => r.Mode == "free").ToList();
            var schema = group.Where(r => r.Mode == "json-schema").ToList();
            if (free.Count == 0 || schema.Count == 0) continue;
            double fd = free.Average(r => r.DecodeTokPerS), sd = schema.Average(r => r.DecodeTokPerS);
            double fb = free.Average(r => r.BatchDecodeTokPerS), sb = schema.Average(r => r.BatchDecodeTokPerS);
            Console.WriteLine($"{group.Key.Concurrency,4} {fd,18:F1} {sd,20:F1} {Loss(fd, sd),7} {fb,11:F1} {sb,13:F1} {Loss(fb, sb),7} {schema.Average(r => r.MaskMsPerToken),14:F4}");
        }
    }

    private static string Loss(double free, double constrained) => free > 0 ? $"{(1 - constrained / free) * 100:F1}%" : "";
}
