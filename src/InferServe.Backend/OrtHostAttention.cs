using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace InferServe.Backend;

/// <summary>The engine-side attention a <see cref="OrtHostAttention"/> node calls, once per layer of a step.</summary>
public interface IHostAttention
{
    /// <param name="qkv">[rows, QDim + 2·KvDim], the node's input (rotated in place: nothing else reads it).</param>
    /// <param name="output">[rows, QDim], the node's output.</param>
    void Forward(int layer, int rows, Span<float> qkv, Span<float> output);
}

/// <summary>
/// The host attention custom op (<see cref="OpType"/> in <see cref="Domain"/>): lets a whole-step graph call the
/// engine's paged attention between a layer's dense nodes, so a step is one ORT run. Inputs: this instance's handle
/// (int64[1], <see cref="Instance"/>), the layer index (int64[1]) and qkv float[T, W]; output attn float[T, OutputWidth].
/// While the kernel runs, <see cref="For"/> fans work out through the kernel context's ParallelFor (ORT's threads).
/// Errors never unwind into ORT: the first is kept, later layers of the run are skipped, and <see cref="End"/>
/// rethrows it on the caller after the run.
/// </summary>
public sealed unsafe class OrtHostAttention : HostOpInstance, IParallelFor
{
    public const string Domain = OrtCustomOps.Domain;
    public const string OpType = "HostAttention";

    private readonly int _outputWidth;
    private IHostAttention? _body;
    private nint _context;

    public OrtHostAttention(int outputWidth) => _outputWidth = outputWidth;

    /// <summary>Where the next run's nodes send their layers (set before each run; the caller owns the step's state).</summary>
    public void Begin(IHostAttention body)
    {
        _body = body;
        ResetError();
    }

    /// <summary>After a run: rethrows the first failure of its host kernels, if any.</summary>
    public void End()
    {
        _body = null;
        ThrowIfFailed("Host attention inside the step graph failed.");
    }

    /// <summary>Inside a kernel: ORT's intra-op threads through its kernel context. Elsewhere: the .NET thread pool.</summary>
    public void For(int count, Action<int> body)
    {
        if (count <= 0) return;
        if (_context == 0)
        {
            ThreadPoolParallelFor.Instance.For(count, body);
            return;
        }
        ParallelFor(_context, count, body);
        // Stops this layer; the item's own error, kept first, is what End() reports.
        if (Failed) throw new BackendException("A host attention work item failed.");
    }

    private void Compute(nint context)
    {
        if (Failed) return; // an earlier layer failed: the run's result is discarded anyway
        var body = _body ?? throw new BackendException("The step graph ran without a host attention body.");
        int layer = (int)*(long*)OrtCustomOps.Input(context, 1);
        var qkv = OrtCustomOps.InputMatrix(context, 2, out long rows, out long width);
        long* dims = stackalloc long[] { rows, _outputWidth };
        var output = (float*)OrtCustomOps.Output(context, 0, dims, 2);
        _context = context;
        try
        {
            body.Forward(layer, (int)rows, new Span<float>(qkv, checked((int)(rows * width))), new Span<float>(output, checked((int)(rows * _outputWidth))));
        }
        finally
        {
            _context = 0;
        }
    }

    /// <summary>Three inputs (instance handle, layer index, qkv) and one output (attn).</summary>
    internal static OrtCustomOps.OpSpec Op => new(OpType, [TensorElementType.Int64, TensorElementType.Int64, TensorElementType.Float], [TensorElementType.Float],
        (nint)(delegate* unmanaged<nint, nint, void>)&ComputeEntry);

    [UnmanagedCallersOnly]
    private static void ComputeEntry(nint kernel, nint context)
    {
        OrtHostAttention? self = null;
        try
        {
            self = FromKernel<OrtHostAttention>(context);
            self.Compute(context);
        }
        catch (Exception e)
        {
            // Nothing may unwind into native code: the error surfaces from End() on the caller's thread.
            self?.Fail(e);
        }
    }
}
