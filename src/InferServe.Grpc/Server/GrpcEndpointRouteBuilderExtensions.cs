using System.Runtime.CompilerServices;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace InferServe.Grpc;

/// <summary>
/// Endpoint-routing registration of gRPC methods: each method is a POST endpoint at <c>/{service}/{method}</c>.
/// The first registration also adds a lowest-priority catch-all that answers UNIMPLEMENTED for unknown methods.
/// The catch-all only claims gRPC requests (content-type application/grpc*) or requests on a port listed in
/// <see cref="GrpcServerOptions.GrpcOnlyPorts"/>, so other endpoints sharing the app (a REST gateway) keep
/// their own 404 for unknown routes such as <c>POST /v1/foo</c>.
/// </summary>
public static class GrpcEndpointRouteBuilderExtensions
{
    private static readonly ConditionalWeakTable<IEndpointRouteBuilder, object> FallbackAdded = new();

    public static IEndpointConventionBuilder MapGrpcUnary<TRequest, TResponse>(
        this IEndpointRouteBuilder endpoints, string service, string method, UnaryServerMethod<TRequest, TResponse> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Map(endpoints, service, method, streamingRequest: false, async context =>
        {
            var request = await ServerCallHandler.ReadSingleRequestAsync<TRequest>(context).ConfigureAwait(false);
            var response = await handler(request, context).ConfigureAwait(false);
            if (context.Status.StatusCode == StatusCode.OK)
            {
                context.WriteMessage(response);
            }
        });
    }

    public static IEndpointConventionBuilder MapGrpcServerStreaming<TRequest, TResponse>(
        this IEndpointRouteBuilder endpoints, string service, string method, ServerStreamingServerMethod<TRequest, TResponse> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Map(endpoints, service, method, streamingRequest: false, async context =>
        {
            var request = await ServerCallHandler.ReadSingleRequestAsync<TRequest>(context).ConfigureAwait(false);
            await handler(request, new HttpContextStreamWriter<TResponse>(context), context).ConfigureAwait(false);
        });
    }

    public static IEndpointConventionBuilder MapGrpcClientStreaming<TRequest, TResponse>(
        this IEndpointRouteBuilder endpoints, string service, string method, ClientStreamingServerMethod<TRequest, TResponse> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Map(endpoints, service, method, streamingRequest: true, async context =>
        {
            var reader = ServerCallHandler.CreateRequestReader<TRequest>(context);
            var response = await handler(reader, context).ConfigureAwait(false);
            if (context.Status.StatusCode == StatusCode.OK)
            {
                context.WriteMessage(response);
            }
        });
    }

    public static IEndpointConventionBuilder MapGrpcDuplex<TRequest, TResponse>(
        this IEndpointRouteBuilder endpoints, string service, string method, DuplexStreamingServerMethod<TRequest, TResponse> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Map(endpoints, service, method, streamingRequest: true, context =>
            handler(
                ServerCallHandler.CreateRequestReader<TRequest>(context),
                new HttpContextStreamWriter<TResponse>(context),
                context));
    }

    private static IEndpointConventionBuilder Map(
        IEndpointRouteBuilder endpoints, string service, string method, bool streamingRequest, Func<ServerCallContext, Task> body)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(service);
        ArgumentException.ThrowIfNullOrWhiteSpace(method);
        EnsureUnimplementedFallback(endpoints);

        var path = $"/{service}/{method}";
        return endpoints
            .MapPost(path, (RequestDelegate)(http => ServerCallHandler.RunAsync(http, path, streamingRequest, body)))
            .WithDisplayName($"gRPC {path}");
    }

    private static void EnsureUnimplementedFallback(IEndpointRouteBuilder endpoints)
    {
        if (!FallbackAdded.TryAdd(endpoints, new object()))
        {
            return;
        }

        var pattern = RoutePatternFactory.Parse(
            "/{service}/{method}",
            defaults: null,
            parameterPolicies: new RouteValueDictionary { ["service"] = GrpcCatchAllConstraint.Instance });
        endpoints
            .Map(pattern, (RequestDelegate)(http => ServerCallHandler.RunAsync(
                http,
                http.Request.Path.Value ?? string.Empty,
                streamingRequest: true,
                context => throw new RpcException(StatusCode.Unimplemented, $"Method '{context.Method}' is not implemented."))))
            .WithMetadata(new HttpMethodMetadata([HttpMethods.Post]))
            .WithDisplayName("gRPC unimplemented method")
            .Add(builder => ((RouteEndpointBuilder)builder).Order = int.MaxValue);
    }
}

/// <summary>
/// Lets the UNIMPLEMENTED catch-all match only requests that are gRPC: a gRPC content-type, or any request
/// arriving on a port configured as gRPC-only (there a non-gRPC POST still gets 415 from the call handler).
/// </summary>
internal sealed class GrpcCatchAllConstraint : IRouteConstraint
{
    public static readonly GrpcCatchAllConstraint Instance = new();

    public bool Match(HttpContext? httpContext, IRouter? route, string routeKey, RouteValueDictionary values, RouteDirection routeDirection)
    {
        if (httpContext is null || routeDirection != RouteDirection.IncomingRequest)
        {
            return true; // link generation: nothing request-specific to judge
        }

        if (GrpcProtocol.IsGrpcContentType(httpContext.Request.ContentType))
        {
            return true;
        }

        var ports = httpContext.RequestServices?.GetService<IOptions<GrpcServerOptions>>()?.Value.GrpcOnlyPorts;
        return ports is { Count: > 0 } && ports.Contains(httpContext.Connection.LocalPort);
    }
}

/// <summary>Registration overloads taking a shared <see cref="GrpcMethod{TRequest,TResponse}"/> definition.</summary>
public static class GrpcMethodEndpointRouteBuilderExtensions
{
    public static IEndpointConventionBuilder MapGrpcUnary<TRequest, TResponse>(
        this IEndpointRouteBuilder endpoints, GrpcMethod<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        endpoints.MapGrpcUnary(method.Service, method.Name, handler);

    public static IEndpointConventionBuilder MapGrpcServerStreaming<TRequest, TResponse>(
        this IEndpointRouteBuilder endpoints, GrpcMethod<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        endpoints.MapGrpcServerStreaming(method.Service, method.Name, handler);

    public static IEndpointConventionBuilder MapGrpcClientStreaming<TRequest, TResponse>(
        this IEndpointRouteBuilder endpoints, GrpcMethod<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        endpoints.MapGrpcClientStreaming(method.Service, method.Name, handler);

    public static IEndpointConventionBuilder MapGrpcDuplex<TRequest, TResponse>(
        this IEndpointRouteBuilder endpoints, GrpcMethod<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        endpoints.MapGrpcDuplex(method.Service, method.Name, handler);
}
