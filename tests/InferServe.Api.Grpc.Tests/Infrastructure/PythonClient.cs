using System.Text.Json;
using InferServe.Api.Grpc.V1;
using InferServe.TestSupport;

namespace InferServe.Api.Grpc.Tests.Infrastructure;

/// <summary>
/// Runs python/inference_client.py under Debian's /usr/bin/python3 with python3-grpcio.
/// Missing python3-grpcio skips the test locally and fails it when CI=true
/// (CI installs it with scripts/ci/setup-grpc-interop.sh).
/// </summary>
public static class PythonClient
{
    /// <summary>Call first in every python test.</summary>
    public static void RequireGrpcio() => PythonGrpc.Require("client");

    /// <summary>Runs one scenario against <paramref name="target"/> and returns its JSON outcome.</summary>
    public static Task<JsonElement> RunAsync(string target, string scenario, string requestId = "") =>
        PythonGrpc.RunToJsonAsync(
            PythonGrpc.Start("inference_client.py", [target, scenario, requestId], "INFERENCE_DESCRIPTOR", InferenceReflection.Descriptor.SerializedData.Span),
            TestEngine.Timeout, $"client '{scenario}'");
}
