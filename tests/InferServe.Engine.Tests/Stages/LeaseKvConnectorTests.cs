using System.Diagnostics;
using InferServe.Contracts;
using InferServe.Engine.Core;
using InferServe.Engine.Kv.Transfer;

namespace InferServe.Engine.Tests.Stages;

/// <summary>
/// The lease connector between two rigs (a prefill side and a decode side): export leases a prompt's blocks after the
/// first token; import reserves blocks, lets a fill write them off the engine thread, and seats the choices after.
/// </summary>
public sealed class LeaseKvConnectorTests
{
    private static GenerationRequest Request(int promptLength, int n = 1) => new()
    {
        PromptTokens = StageRig.Prompt(promptLength, 9), MaxTokens = 8, N = n, IgnoreEos = true, Sampling = new SamplingParams { Temperature = 0 },
    };

    private static async Task<PrefillResult> ExportAsync(StageRig rig, GenerationRequest spec)
    {
        var export = new TaskCompletionSource<PrefillResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        var state = rig.Admit(spec, export);
        rig.RunToEnd(state);
        return await export.Task;
    }

    private static RequestState AdmitImport(StageRig rig, GenerationRequest spec, PrefillResult prefill, Func<KvBlockSpans, CancellationToken, Task>? fill)
    {
        var state = new RequestState(spec, Stopwatch.GetTimestamp()) { Import = new KvImport(new ImportedPrefill(prefill.CachedTokens, prefill.Choices), fill) };
        Assert.True(rig.Requests.TryQueue());
        if (rig.Requests.AdmitImported(state)) rig.Connector.Import(state);
        return state;
    }

    [Fact(Timeout = 60_000)]
    public async Task An_export_leases_the_prompt_blocks_after_the_first_token_until_a_reader_takes_them()
    {
        using var rig = new StageRig();
        var result = await ExportAsync(rig, Request(40, n: 2));

        int blocks = rig.Kv.BlocksFor(40);
        Assert.NotNull(result.LeaseId);
        Assert.Equal(blocks, result.Blocks);
        Assert.Equal([0, 1], result.Choices.Select(c => c.Index));
        Assert.All(result.Choices, c => Assert.Null(c.Finish));
        Assert.Equal(0, rig.Scheduler.RunningCount); // its choices ended; the lease alone holds the blocks
        Assert.Equal(blocks, rig.Kv.Pool.UsedCount);

        var spans = rig.Connector.BeginRead(result.LeaseId!);
        Assert.Equal(blocks, spans!.BlockCount);
        rig.Connector.EndRead(result.LeaseId!, release: true);
        rig.Inbox.RunPosted(); // the release frees the blocks on the engine thread
        Assert.Equal(rig.Kv.Pool.NumBlocks, rig.Kv.Pool.FreeCount);
        Assert.Null(rig.Connector.BeginRead(result.LeaseId!));
        Assert.Equal((0, 1L, 0L), rig.Connector.Exports);
    }

    [Fact(Timeout = 60_000)]
    public async Task An_export_whose_first_token_finishes_the_request_still_gets_its_result_without_a_lease()
    {
        using var rig = new StageRig();
        var result = await ExportAsync(rig, Request(20) with { MaxTokens = 1 });

        Assert.Null(result.LeaseId);
        Assert.Equal(FinishReason.Length, Assert.Single(result.Choices).Finish);
        Assert.Equal(rig.Kv.Pool.NumBlocks, rig.Kv.Pool.FreeCount);
    }

    [Fact(Timeout = 60_000)]
    public async Task An_import_holds_its_blocks_and_seats_while_the_fill_runs_then_decodes_as_the_exporting_side_would()
    {
        using var prefill = new StageRig();
        using var decode = new StageRig();
        var spec = Request(40, n: 2);
        List<(int Index, int Token)> reference;
        using (var alone = new StageRig()) // the same request on one side only
            reference = [.. alone.RunToEnd(alone.Admit(spec)).SelectMany(e => e.TokenIds.Select(t => (e.Index, t)))];

        var exported = await ExportAsync(prefill, spec);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var state = AdmitImport(decode, spec, exported, async (target, ct) =>
        {
            await release.Task.WaitAsync(ct);
            var source = prefill.Connector.BeginRead(exported.LeaseId!)!;
            var bytes = new byte[source.BlockCount * source.BlockBytes];
            source.Read(0, source.BlockCount, bytes);
            target.Write(0, bytes);
            prefill.Connector.EndRead(exported.LeaseId!, release: true);
        });
        Assert.Equal(1, decode.Connector.PendingImports);

        decode.Connector.Poll();
        Assert.Equal(0, decode.Connector.PendingImports);
        Assert.Equal(2, decode.Scheduler.Reserved);
        Assert.All(state.Sequences, s => Assert.Equal(SequenceStatus.WaitingForKv, s.Status));
        Assert.Equal(decode.Kv.BlocksFor(40), decode.Kv.Pool.UsedCount);

        release.SetResult();
        var events = decode.RunToEnd(state);
        Assert.Equal(0, decode.Scheduler.Reserved);
        Assert.Equal(0, decode.Connector.ImportFallbacks);
        // The first tokens came with the prefill; the decode side continues both choices from them.
        var tokens = exported.Choices.Select(c => (c.Index, c.Token)).Concat(events.SelectMany(e => e.TokenIds.Select(t => (e.Index, t))));
        Assert.Equal(reference.OrderBy(x => x.Index), tokens.OrderBy(x => x.Index));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_failed_fill_falls_back_to_recomputing_the_prompt_here()
    {
        using var prefill = new StageRig();
        using var decode = new StageRig();
        var spec = Request(40);
        var exported = await ExportAsync(prefill, spec);
        var state = AdmitImport(decode, spec, exported, (_, _) => Task.FromException(new IOException("the prefill worker is gone")));

        decode.Connector.Poll();
        var events = decode.RunToEnd(state);

        Assert.Equal(1, decode.Connector.ImportFallbacks);
        Assert.Equal(FinishReason.Length, events[^1].Finish);
        Assert.Equal(spec.MaxTokens - 1, events.Sum(e => e.TokenIds.Count));
        Assert.Equal(decode.Kv.Pool.NumBlocks, decode.Kv.Pool.FreeCount);
    }
}
