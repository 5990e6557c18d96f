using System.CommandLine;
using InferServe.Hub;

namespace InferServe.Cli;

/// <summary>Hub ids on the command line: `--model org/name[@revision][:file]` and `inferserve pull`.</summary>
public static class HubModels
{
    /// <summary>An existing local path always wins; otherwise a hub id is resolved (from the cache, or downloaded).</summary>
    public static string Resolve(string model)
    {
        if (File.Exists(model) || Directory.Exists(model) || !HubRepoId.TryParse(model, out var id)) return model;
        Console.Error.WriteLine($"'{model}' is not a local path: using it as a Hugging Face hub id.");
        // The CLI's model options are read synchronously, before anything else runs; Ctrl-C ends the process.
        return new HubModelResolver(HubSettings.FromEnvironment(), Console.Error).ResolveAsync(id, refresh: false, CancellationToken.None).GetAwaiter().GetResult();
    }

    /// <summary>The name a hub model is served under: its repo id (as vLLM does), not the snapshot's commit directory.</summary>
    public static string? ServedName(string? model) =>
        model is not null && !File.Exists(model) && !Directory.Exists(model) && HubRepoId.TryParse(model, out var id) ? id.Repo : null;

    private static readonly Argument<string> Id = new("org/name[@revision][:file]") { Description = "the hub model id" };

    public static Command PullCommand()
    {
        var command = new Command("pull", """
            Download a Hugging Face hub model into the Hugging Face cache: the files the server needs (config, tokenizer and
            generation files, safetensors weights and their index; with :file that file), resuming partial downloads and
            checking sha256. Environment: HF_ENDPOINT (default https://huggingface.co), HF_TOKEN (gated or private repos),
            HF_HOME, HF_HUB_CACHE (default $HF_HOME/hub = ~/.cache/huggingface/hub), HF_HUB_OFFLINE=1 (no network).
            """)
        {
            Id,
        };
        command.SetAction((p, _) => PullAsync(p.GetValue(Id)!));
        return command;
    }

    private static async Task<int> PullAsync(string model)
    {
        var id = HubRepoId.Parse(model);
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        try
        {
            Console.WriteLine(await new HubModelResolver(HubSettings.FromEnvironment(), Console.Error).ResolveAsync(id, refresh: true, cts.Token));
            return 0;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("Interrupted; `inferserve pull` resumes the partial download next time.");
            return 130;
        }
    }
}
