using Google.Protobuf;
using InferServe.Backend;
using InferServe.Onnx;
using InferServe.Onnx.Proto;

namespace InferServe.Engine.Tests.Backend;

/// <summary>
/// The binding rule for devices that copy a host input into their own memory when it is bound (CUDA and every other
/// non-CPU provider): a step's inputs are bound again before every run, so a changed host buffer reaches the device.
/// Bound once, CUDA ran every step on the first step's input (greedy text "Once Once Once ..."). The CPU reads host
/// buffers in place and keeps its single bind.
/// </summary>
[Collection(OrtPoolAlone.Name)]
public sealed class InputStagingTests : IDisposable
{
    private const int Width = 4;
    private readonly string _dir = Directory.CreateTempSubdirectory("inferserve-staging-").FullName;
    private readonly OrtBackend _backend = new(new BackendOptions());

    [Fact]
    public void Cpu_reads_host_buffers_in_place_and_every_other_device_copies_at_bind()
    {
        Assert.Equal(InputStaging.ZeroCopy, InputStagingRules.For(ExecutionDevice.Parse("cpu")));
        foreach (var device in new[] { "cuda:0", "tensorrt:0", "rocm:0", "openvino:GPU", "dml:0", "webgpu" })
            Assert.Equal(InputStaging.CopyAtBind, InputStagingRules.For(ExecutionDevice.Parse(device)));
    }

    [Fact(Timeout = 60_000)]
    public void On_a_device_that_copies_at_bind_a_changed_input_reaches_the_next_run()
    {
        using var graph = _backend.Load("plus-one", PlusOneGraph(), InputStaging.CopyAtBind);
        var (x, y) = BindPlusOne(graph);

        Assert.Equal(new[] { 2f, 2f, 2f, 2f }, RunWith(graph, x, y, 1f));
        Assert.Equal(new[] { 6f, 6f, 6f, 6f }, RunWith(graph, x, y, 5f));
        Assert.Equal(new[] { -2f, -2f, -2f, -2f }, RunWith(graph, x, y, -3f));
        Assert.Equal(3, graph.InputBindings);
    }

    [Fact(Timeout = 60_000)]
    public void On_the_cpu_host_buffers_are_bound_once_and_read_in_place()
    {
        using var graph = _backend.Load("plus-one", PlusOneGraph());
        using var x = new NativeTensor(2, Width);
        using var y = new NativeTensor(2, Width);
        graph.BindInput("x", x).BindOutput("y", y);

        Assert.Equal(new[] { 8f, 8f, 8f, 8f }, RunWith(graph, x, y, 7f));
        Assert.Equal(new[] { 10f, 10f, 10f, 10f }, RunWith(graph, x, y, 9f));
        Assert.Equal(1, graph.InputBindings);
    }

    private static (NativeTensor X, NativeTensor Y) BindPlusOne(OrtGraph graph)
    {
        var x = new NativeTensor(2, Width);
        var y = new NativeTensor(2, Width);
        graph.BindInput("x", x).BindOutput("y", y);
        return (x, y);
    }

    private static float[] RunWith(OrtGraph graph, NativeTensor x, NativeTensor y, float value)
    {
        x.Floats(1).Fill(value);
        graph.Run(1);
        return y.Floats(1).ToArray();
    }

    private string PlusOneGraph()
    {
        var b = new OnnxGraphBuilder("plus_one")
            .Input("x", TensorProto.Types.DataType.Float, "rows", Width)
            .Output("y", TensorProto.Types.DataType.Float, "rows", Width);
        var one = b.Initializer("one", [1f], 1);
        b.Node("Add", ["x", one], ["y"]);
        var path = Path.Combine(_dir, "plus_one.onnx");
        File.WriteAllBytes(path, b.Build().ToByteArray());
        return path;
    }

    public void Dispose()
    {
        _backend.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
