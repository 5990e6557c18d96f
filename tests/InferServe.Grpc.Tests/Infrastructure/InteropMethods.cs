using InferServe.Grpc.Tests.Interop;

namespace InferServe.Grpc.Tests.Infrastructure;

/// <summary>The methods of <c>inferserve.test.Interop</c> (see Protos/interop_test.proto).</summary>
public static class InteropMethods
{
    public const string Service = "inferserve.test.Interop";

    public static readonly GrpcMethod<EchoRequest, EchoReply> Unary = new(Service, "Unary");
    public static readonly GrpcMethod<EchoRequest, EchoReply> ServerStream = new(Service, "ServerStream");
    public static readonly GrpcMethod<EchoRequest, EchoReply> ClientStream = new(Service, "ClientStream");
    public static readonly GrpcMethod<EchoRequest, EchoReply> Duplex = new(Service, "Duplex");
    public static readonly GrpcMethod<EchoRequest, EchoReply> Missing = new(Service, "Missing");

    /// <summary>Upper bound for any wait in a test, so a bug fails the test instead of hanging it.</summary>
    public static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(10);
}
