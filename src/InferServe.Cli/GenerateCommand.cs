using System.CommandLine;
using InferServe.Cli.Options;
using InferServe.Contracts;
using InferServe.Engine.Hosting;

namespace InferServe.Cli;

/// <summary>`inferserve generate`: one prompt, streamed to stdout as it is generated.</summary>
public static class GenerateCommand
{
    private static readonly Option<string?> Prompt = Opt.Text("--prompt", "the prompt", "", helpName: "TEXT");
    private static readonly Option<int?> MaxTokens = Opt.Int("--max-tokens", "most tokens to generate (capped by the context)", 1, 1 << 20, 256);
    private static readonly Option<double?> Temperature = Opt.Float("--temperature", "0 = greedy", 0, RequestLimits.MaxTemperature, 1);
    private static readonly Option<double?> TopP = Opt.Float("--top-p", "nucleus sampling mass", 1e-6, 1, 1);
    private static readonly Option<int?> TopK = Opt.Int("--top-k", "sample among the K likeliest tokens; 0 or -1 = all", -1, 1 << 20, 0);
    private static readonly Option<double?> MinP = Opt.Float("--min-p", "drop tokens below this fraction of the likeliest one's probability", 0, 1, 0);
    private static readonly Option<double?> RepetitionPenalty = Opt.Float("--repetition-penalty", "penalty on tokens already seen; 1 = none", 1e-3, RequestLimits.MaxRepetitionPenalty, 1);
    private static readonly Option<ulong?> Seed = Opt.ULong("--seed", "sampling seed (default: random)");
    private static readonly Option<bool> IgnoreEos = Opt.Flag("--ignore-eos", "keep generating past the end-of-sequence token");
    private static readonly Option<bool> Stats = Opt.Flag("--stats", "print token counts and time to stderr");
    private static readonly EngineOptionSet Engine = new();

    public static Command Create() => Opt.Command("generate", "Stream a completion for one prompt to stdout (default model: the embedded stories260K; --max-seqs 1, --kv-cache-memory 256MiB)",
        [Prompt, MaxTokens, Temperature, TopP, TopK, MinP, RepetitionPenalty, Seed, IgnoreEos, Stats, .. Engine], RunAsync);

    private static async Task<int> RunAsync(ParseResult p)
    {
        var prompt = p.GetValue(Prompt)!;
        int maxTokens = p.GetValue(MaxTokens)!.Value;
        var sampling = new SamplingParams
        {
            Temperature = (float)p.GetValue(Temperature)!.Value,
            TopP = (float)p.GetValue(TopP)!.Value,
            TopK = p.GetValue(TopK)!.Value,
            MinP = (float)p.GetValue(MinP)!.Value,
            RepetitionPenalty = (float)p.GetValue(RepetitionPenalty)!.Value,
            Seed = p.GetValue(Seed),
        };
        bool ignoreEos = p.GetValue(IgnoreEos);
        bool showStats = p.GetValue(Stats);
        var settings = Engine.Read(p, new EngineSettings { MaxSeqs = 1, KvCacheMemory = "256MiB" });
        settings.Model = ModelSource.Finish(settings.Model);

        await using var loaded = EngineFactory.Create(settings, log: m => Console.Error.WriteLine(m));
        var engine = loaded.LocalEngine();
        var ids = engine.Tokenizer.Encode(prompt, addSpecialTokens: true);
        if (ids.Length == 0 && engine.Tokenizer.BosTokenId is int bos) ids = [bos];
        maxTokens = Math.Min(maxTokens, engine.MaxContext - ids.Length);
        if (maxTokens < 1) throw new UsageException($"The prompt ({ids.Length} tokens) fills the model's context of {engine.MaxContext}.");

        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        var stdout = Console.Out;
        stdout.Write(prompt);
        var started = System.Diagnostics.Stopwatch.StartNew();
        GenerationUsage? usage = null;
        FinishReason? finish = null;
        try
        {
            await foreach (var e in engine.GenerateAsync(new GenerationRequest { PromptTokens = ids, MaxTokens = maxTokens, Sampling = sampling, IgnoreEos = ignoreEos }, cts.Token))
            {
                stdout.Write(e.TextDelta);
                stdout.Flush();
                usage = e.Usage;
                finish = e.Finish ?? finish;
            }
        }
        catch (OperationCanceledException)
        {
        }
        stdout.WriteLine();
        if (showStats && usage is { } u)
            Console.Error.WriteLine($"[{u.PromptTokens} prompt + {u.CompletionTokens} generated tokens in {started.Elapsed.TotalSeconds:F2}s, finish={finish}]");
        return 0;
    }
}
