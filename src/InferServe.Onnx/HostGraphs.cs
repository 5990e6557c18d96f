using Google.Protobuf;
using DT = InferServe.Onnx.Proto.TensorProto.Types.DataType;

namespace InferServe.Onnx;

/// <summary>
/// Graphs whose only node is a host (engine-side) custom op, so that host work runs inside an ORT
/// call and on ORT's threads. The op's implementation is registered by the backend under these names.
/// </summary>
public static class HostGraphs
{
    /// <summary>One node: <paramref name="opType"/>(int64[1] input) → int64[1] output.</summary>
    public static byte[] SingleOp(string domain, string opType, string input, string output)
    {
        var g = new OnnxGraphBuilder(opType).Input(input, DT.Int64, 1).Output(output, DT.Int64, 1);
        g.Node(opType, [input], [output], domain);
        return g.Build(extraDomains: domain).ToByteArray();
    }

    /// <summary>float[n] input → float[n] output = input + 0: every element read and written once (a bandwidth probe).</summary>
    public static byte[] Copy(string input, string output)
    {
        var g = new OnnxGraphBuilder("copy").Input(input, DT.Float, "n").Output(output, DT.Float, "n");
        var zero = g.Initializer("zero", [0f], 1);
        g.Node("Add", [input, zero], [output]);
        return g.Build().ToByteArray();
    }
}
