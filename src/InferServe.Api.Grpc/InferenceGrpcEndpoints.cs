using InferServe.Contracts.Hosting;
using InferServe.Grpc;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace InferServe.Api.Grpc;

/// <summary>Registers <c>inferserve.v1.Inference</c> on an ASP.NET Core app (Kestrel needs an HTTP/2 endpoint).</summary>
public static class InferenceGrpcEndpoints
{
    /// <summary>
    /// Maps Generate, Complete and GetModelInfo at <c>POST /inferserve.v1.Inference/{method}</c>. Calls made
    /// before <paramref name="host"/> has loaded its engine end with UNAVAILABLE. The returned builder applies
    /// conventions (authorization, host filters, ...) to all three endpoints.
    /// </summary>
    public static IEndpointConventionBuilder MapInferenceGrpc(this IEndpointRouteBuilder endpoints, ModelHost host)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(host);
        var service = new InferenceService(host);
        return new CompositeConventionBuilder(
        [
            endpoints.MapGrpcServerStreaming(InferenceMethods.Generate, service.GenerateAsync),
            endpoints.MapGrpcUnary(InferenceMethods.Complete, service.CompleteAsync),
            endpoints.MapGrpcUnary(InferenceMethods.GetModelInfo, service.GetModelInfoAsync),
        ]);
    }

    private sealed class CompositeConventionBuilder(IReadOnlyList<IEndpointConventionBuilder> builders) : IEndpointConventionBuilder
    {
        public void Add(Action<EndpointBuilder> convention)
        {
            foreach (var builder in builders)
            {
                builder.Add(convention);
            }
        }

        public void Finally(Action<EndpointBuilder> finallyConvention)
        {
            foreach (var builder in builders)
            {
                builder.Finally(finallyConvention);
            }
        }
    }
}
