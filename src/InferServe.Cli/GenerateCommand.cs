using InferServe.Engine;
using InferServe.Engine.Hosting;
using InferServe.Engine.Sampling;

namespace InferServe.Cli;

/// <summary>`inferserve generate`: one prompt, streamed to stdout as it is generated.</summary>
public static class GenerateCommand
{
    public static async Task<int> RunAsync(CommandLine cmd)
    {
        var prompt = cmd.Get("prompt", "");
        int maxTokens = cmd.GetInt("max-tokens", 256, 1, 1 << 20);
        var sampling = new SamplingParams
        {
            Temperature = cmd.GetFloat("temperature", 1f, 0f, RequestLimits.MaxTemperature),
            TopP = cmd.GetFloat("top-p", 1f, 1e-6f, 1f),
            TopK = cmd.GetInt("top-k", 0, -1, 1 << 20),
            MinP = cmd.GetFloat("min-p", 0f, 0f, 1f),
            RepetitionPenalty = cmd.GetFloat("repetition-penalty", 1f, 1e-3f, RequestLimits.MaxRepetitionPenalty),
            Seed = cmd.Get("seed") is { } seed ? ulong.Parse(seed, System.Globalization.CultureInfo.InvariantCulture) : null,
        };
        bool ignoreEos = cmd.Flag("ignore-eos");
        bool showStats = cmd.Flag("stats");
        var settings = EngineOptionsFromCli.Read(cmd, new EngineSettings { MaxSeqs = 1, KvCacheMemory = "256MiB" });
        cmd.RejectUnknown();
        settings.Model = ModelSource.Finish(settings.Model);

        await using var loaded = EngineFactory.Create(settings, log: m => Console.Error.WriteLine(m));
        var engine = loaded.Engine;
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
