using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace InferServe.Api.Grpc;

/// <summary>Registers <c>inferserve.v1.Inference</c> on an ASP.NET Core app (Kestrel needs an HTTP/2 endpoint).</summary>
public static class InferenceGrpcEndpoints
{
    /// <summary>The service over the app's <see cref="Contracts.Hosting.ModelHost"/> singleton; needs <c>AddGrpc()</c>.</summary>
    public static IServiceCollection AddInferenceGrpc(this IServiceCollection services) => services.AddSingleton<InferenceService>();

    /// <summary>
    /// Maps Generate, Complete and GetModelInfo at <c>POST /inferserve.v1.Inference/{method}</c>. Calls made
    /// before the host has loaded its engine end with UNAVAILABLE. The returned builder applies
    /// conventions (authorization, host filters, ...) to all three endpoints.
    /// </summary>
    public static IEndpointConventionBuilder MapInferenceGrpc(this IEndpointRouteBuilder endpoints) => endpoints.MapGrpcService<InferenceService>();
}
