using InferServe.Contracts;
using InferServe.Engine.Kv;
using InferServe.Engine.Kv.Transfer;
using InferServe.TestSupport;

namespace InferServe.Engine.Tests;

/// <summary>
/// The engine's KV connector seam: a prefill engine exports a request's prompt KV under a lease, a decode engine
/// imports it into reserved blocks and continues from the exported first tokens, exactly as one engine would.
/// </summary>
public sealed class KvTransferTests
{
    private static GenerationRequest Request(int seed) => new()
    {
        PromptTokens = Engines.RandomPrompt(70, 512, seed),
        MaxTokens = 24,
        N = 2,
        Logprobs = 2,
        Sampling = new SamplingParams { Temperature = 0.9f, Seed = (ulong)seed, PresencePenalty = 0.3f },
    };

    /// <summary>Prefill on <paramref name="prefill"/>, decode on <paramref name="decode"/>; returns every choice's tokens.</summary>
    private static async Task<List<int>[]> SplitAsync(LlmEngine prefill, LlmEngine decode, GenerationRequest request, Func<KvBlockSpans, CancellationToken, Task>? fill = null)
    {
        var tokens = Enumerable.Range(0, request.N).Select(_ => new List<int>()).ToArray();
        var (handle, result) = prefill.SubmitPrefill(request);
        await foreach (var e in handle.ReadAllAsync()) tokens[e.Index].AddRange(e.TokenIds);
        var exported = await result;
        Assert.NotNull(exported.LeaseId);
        fill ??= (target, _) =>
        {
            var source = prefill.BeginLeaseRead(exported.LeaseId!) ?? throw new InvalidOperationException("lease gone");
            var bytes = new byte[source.BlockCount * source.BlockBytes];
            source.Read(0, source.BlockCount, bytes);
            target.Write(0, bytes);
            prefill.EndLeaseRead(exported.LeaseId!, release: true);
            return Task.CompletedTask;
        };
        await using var imported = decode.SubmitImported(request, new ImportedPrefill(exported.CachedTokens, exported.Choices), fill);
        await foreach (var e in imported.ReadAllAsync()) tokens[e.Index].AddRange(e.TokenIds);
        return tokens;
    }

    private static async Task AssertPoolIdleAsync(LlmEngine engine)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await engine.InspectAsync(kv => kv.Pool.FreeCount != kv.Pool.NumBlocks))
        {
            Assert.True(DateTime.UtcNow < deadline, "KV blocks are still held");
            await Task.Delay(10);
        }
    }

    [Theory(Timeout = 120_000)]
    [InlineData(KvDType.Fp32)]
    [InlineData(KvDType.Int8)]
    [InlineData(KvDType.Int4)]
    public async Task A_request_prefilled_by_one_engine_and_decoded_by_another_equals_one_engine(KvDType dtype)
    {
        await using var whole = Engines.Create(new Engines.Setup(KvDType: dtype));
        await using var prefill = Engines.Create(new Engines.Setup(KvDType: dtype));
        await using var decode = Engines.Create(new Engines.Setup(KvDType: dtype));
        for (int seed = 1; seed <= 3; seed++)
        {
            var request = Request(seed);
            var expected = await Engines.RunAsync(whole, request);
            var actual = await SplitAsync(prefill, decode, request);
            for (int i = 0; i < request.N; i++) Assert.Equal(expected[i].Tokens, actual[i]);
        }
        Assert.Equal(3, prefill.Leases.Released);
        await AssertPoolIdleAsync(prefill);
        await AssertPoolIdleAsync(decode);
    }

    [Fact(Timeout = 60_000)]
    public async Task An_unclaimed_lease_expires_and_frees_its_blocks()
    {
        await using var prefill = Engines.Create(new Engines.Setup(LeaseSeconds: 0.2));
        var (handle, result) = prefill.SubmitPrefill(Request(1));
        await foreach (var _ in handle.ReadAllAsync()) { }
        var lease = (await result).LeaseId!;
        await AssertPoolIdleAsync(prefill);
        Assert.Null(prefill.BeginLeaseRead(lease));
        Assert.Equal(1, prefill.Leases.Expired);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_lease_being_read_outlives_its_release_until_the_read_ends()
    {
        await using var prefill = Engines.Create(new Engines.Setup());
        var (handle, result) = prefill.SubmitPrefill(Request(2));
        await foreach (var _ in handle.ReadAllAsync()) { }
        var lease = (await result).LeaseId!;
        var spans = prefill.BeginLeaseRead(lease);
        Assert.NotNull(spans);
        Assert.True(prefill.ReleaseLease(lease));
        Assert.Null(prefill.BeginLeaseRead(lease));
        // Still referenced by the reader: the blocks stay allocated.
        Assert.Equal(spans.BlockCount, await prefill.InspectAsync(kv => kv.Pool.UsedCount));
        prefill.EndLeaseRead(lease, release: false);
        await AssertPoolIdleAsync(prefill);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_failed_transfer_is_recomputed_locally_with_the_same_output()
    {
        await using var whole = Engines.Create(new Engines.Setup());
        await using var prefill = Engines.Create(new Engines.Setup());
        await using var decode = Engines.Create(new Engines.Setup());
        var request = Request(3);
        var expected = await Engines.RunAsync(whole, request);
        var actual = await SplitAsync(prefill, decode, request, (_, _) => throw new IOException("the prefill worker went away"));
        for (int i = 0; i < request.N; i++) Assert.Equal(expected[i].Tokens, actual[i]);
        Assert.Equal(1, decode.ImportFallbacks);
        await AssertPoolIdleAsync(decode);
    }

    [Fact(Timeout = 60_000)]
    public async Task An_abort_during_a_transfer_frees_the_blocks_once_the_transfer_has_stopped()
    {
        await using var decode = Engines.Create(new Engines.Setup());
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finish = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var request = Request(4);
        var handle = decode.SubmitImported(request, new ImportedPrefill(0, [new PrefillChoice(0, 5, 1, null), new PrefillChoice(1, 6, 2, null)]),
            async (_, _) =>
            {
                entered.SetResult();
                await finish.Task; // a transfer that does not stop at once
            });
        await entered.Task;
        handle.Abort();
        var finishes = new List<FinishReason?>();
        await foreach (var e in handle.ReadAllAsync()) finishes.Add(e.Finish);
        Assert.All(finishes, f => Assert.Equal(FinishReason.Abort, f));
        Assert.Equal(5, await decode.InspectAsync(kv => kv.Pool.UsedCount)); // 70 prompt tokens: the transfer still owns 5 blocks
        finish.SetResult();
        await AssertPoolIdleAsync(decode);
    }
}
