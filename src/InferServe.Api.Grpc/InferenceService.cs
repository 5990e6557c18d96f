using System.Text;
using Grpc.Core;
using InferServe.Api.Grpc.V1;
using InferServe.Contracts;
using InferServe.Contracts.Hosting;

namespace InferServe.Api.Grpc;

/// <summary>
/// Handlers of <c>inferserve.v1.Inference</c>. Every engine request is tied to the call's cancellation token
/// (client reset or deadline) and its handle is disposed on every exit path, so an abandoned call aborts its
/// engine request and frees its KV blocks.
/// </summary>
internal sealed class InferenceService(ModelHost host) : Inference.InferenceBase
{
    public override Task Generate(GenerateRequest request, IServerStreamWriter<GenerateResponse> responses, ServerCallContext context) =>
        Mapped(async () =>
        {
            await GenerateCoreAsync(request, responses, context).ConfigureAwait(false);
            return true;
        });

    public override Task<CompleteResponse> Complete(GenerateRequest request, ServerCallContext context) => Mapped(() => CompleteCoreAsync(request, context));

    /// <summary>Service errors raised while streaming (a routed request's workers) become gRPC statuses.</summary>
    private static async Task<T> Mapped<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (InvalidRequestException e)
        {
            throw RequestMapping.Invalid(e.Message);
        }
        catch (EngineOverloadedException e)
        {
            throw Fail(StatusCode.ResourceExhausted, e.Message);
        }
        catch (ServiceUnavailableException e)
        {
            throw Fail(StatusCode.Unavailable, e.Message);
        }
    }

    private async Task GenerateCoreAsync(GenerateRequest request, IServerStreamWriter<GenerateResponse> responses, ServerCallContext context)
    {
        var engine = RequireEngine();
        var spec = RequestMapping.ToEngineRequest(request, engine);
        var continuousUsage = request.UsageReporting == UsageReporting.Continuous;
        var ct = context.CancellationToken;
        var failed = false;
        string? failure = null;

        await using var handle = Submit(engine, spec, ct);
        await foreach (var e in handle.ReadAllAsync(ct).ConfigureAwait(false))
        {
            CheckAbort(e.Finish, ct);
            var message = new GenerateResponse
            {
                RequestId = spec.RequestId,
                Index = e.Index,
                Text = e.TextDelta,
                FinishReason = RequestMapping.ToProto(e.Finish),
            };
            message.TokenIds.AddRange(e.TokenIds);
            RequestMapping.AddLogprobs(message.Logprobs, e.Logprobs);
            RequestMapping.AddLogprobs(message.PromptLogprobs, e.PromptLogprobs);
            if (e.IsFinal || continuousUsage)
            {
                message.Usage = RequestMapping.ToProto(e.Usage);
            }

            if (e.Finish == Contracts.FinishReason.Error)
            {
                failed = true;
                failure ??= e.ErrorMessage;
            }

            await responses.WriteAsync(message, ct).ConfigureAwait(false);
        }

        ct.ThrowIfCancellationRequested();
        if (failed)
        {
            throw EngineFailed(failure);
        }
    }

    private async Task<CompleteResponse> CompleteCoreAsync(GenerateRequest request, ServerCallContext context)
    {
        var engine = RequireEngine();
        var spec = RequestMapping.ToEngineRequest(request, engine);
        var ct = context.CancellationToken;
        var choices = new Choice[spec.N];
        var texts = new StringBuilder[spec.N];
        for (var i = 0; i < spec.N; i++)
        {
            choices[i] = new Choice { Index = i };
            texts[i] = new StringBuilder();
        }

        GenerationUsage? usage = null;
        await using (var handle = Submit(engine, spec, ct))
        {
            await foreach (var e in handle.ReadAllAsync(ct).ConfigureAwait(false))
            {
                CheckAbort(e.Finish, ct);
                if (e.Finish == Contracts.FinishReason.Error)
                {
                    throw EngineFailed(e.ErrorMessage);
                }

                var choice = choices[e.Index];
                texts[e.Index].Append(e.TextDelta);
                choice.TokenIds.AddRange(e.TokenIds);
                RequestMapping.AddLogprobs(choice.Logprobs, e.Logprobs);
                RequestMapping.AddLogprobs(choice.PromptLogprobs, e.PromptLogprobs);
                if (e.Finish is { } finish)
                {
                    choice.FinishReason = RequestMapping.ToProto(finish);
                }

                usage = e.Usage;
            }
        }

        ct.ThrowIfCancellationRequested();
        var response = new CompleteResponse
        {
            RequestId = spec.RequestId,
            Model = host.ServedModelName,
            Usage = RequestMapping.ToProto(usage ?? new GenerationUsage(spec.PromptTokens.Count, 0, 0)),
        };
        for (var i = 0; i < spec.N; i++)
        {
            choices[i].Text = texts[i].ToString();
            response.Choices.Add(choices[i]);
        }

        return response;
    }

    public override Task<ModelInfo> GetModelInfo(ModelInfoRequest request, ServerCallContext context) => Mapped(() => GetModelInfoCoreAsync());

    private Task<ModelInfo> GetModelInfoCoreAsync()
    {
        var facts = RequireEngine().Facts;
        var info = new ModelInfo
        {
            Id = host.ServedModelName,
            Architecture = facts.Architecture,
            MaxContext = facts.MaxContext,
            VocabSize = facts.VocabSize,
            KvBlockSize = facts.KvBlockSize,
            KvTotalBlocks = facts.KvTotalBlocks,
        };
        if (facts.BosTokenId is { } bos)
        {
            info.BosTokenId = bos;
        }

        info.EosTokenIds.AddRange(facts.EosTokenIds);
        return Task.FromResult(info);
    }

    private IGenerationService RequireEngine()
    {
        if (host.Current is { } loaded)
        {
            if (loaded.Service is IReadinessProbe probe && !probe.IsReady(out var reason))
            {
                throw Fail(StatusCode.Unavailable, "Not ready: " + reason);
            }

            return loaded.Service;
        }

        throw Fail(StatusCode.Unavailable,
            host.LoadError is null ? "The model is still loading; retry shortly." : "The model failed to load; see the server log.");
    }

    private static IGenerationStream Submit(IGenerationService engine, GenerationRequest spec, CancellationToken ct)
    {
        try
        {
            return engine.Submit(spec, ct);
        }
        catch (InvalidRequestException e)
        {
            throw RequestMapping.Invalid(e.Message);
        }
        catch (EngineOverloadedException e)
        {
            throw Fail(StatusCode.ResourceExhausted, e.Message);
        }
    }

    /// <summary>
    /// An abort we caused (client gone, deadline) surfaces as cancellation so the library reports CANCELLED or
    /// DEADLINE_EXCEEDED; any other abort means the engine is shutting down.
    /// </summary>
    private static void CheckAbort(Contracts.FinishReason? finish, CancellationToken ct)
    {
        if (finish != Contracts.FinishReason.Abort)
        {
            return;
        }

        ct.ThrowIfCancellationRequested();
        throw Fail(StatusCode.Unavailable, "The request was aborted because the engine is shutting down.");
    }

    /// <summary>A worker that failed names itself (<paramref name="message"/>); otherwise the engine failed.</summary>
    private static RpcException EngineFailed(string? message) => Fail(StatusCode.Internal, message ?? "The engine failed while generating this request.");

    private static RpcException Fail(StatusCode code, string detail) => new(new Status(code, detail));
}
