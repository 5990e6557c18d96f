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
/// Errors never unwind into ORT: the first is kept, later layers of the run are skipped, and <see cref="ThrowIfFailed"/>
/// rethrows it on the caller after the run.
/// </summary>
public sealed unsafe class OrtHostAttention : IParallelFor, IDisposable
{
    public const string Domain = OrtCustomOps.Domain;
    public const string OpType = "HostAttention";

    private GCHandle _self;
    private readonly int _outputWidth;
    private IHostAttention? _body;
    private nint _context;
    private Action<int>? _items;
    private Exception? _error;

    /// <summary>int64[1] holding this instance's handle: bind it as the step graph's instance input.</summary>
    public NativeTensor Instance { get; } = new(1, 1, TensorElementType.Int64);

    public OrtHostAttention(int outputWidth)
    {
        _outputWidth = outputWidth;
        _self = GCHandle.Alloc(this);
        Instance.Rows<long>(1)[0] = GCHandle.ToIntPtr(_self);
    }

    /// <summary>Where the next run's nodes send their layers (set before each run; the caller owns the step's state).</summary>
    public void Begin(IHostAttention body) => (_body, _error) = (body, null);

    /// <summary>After a run: rethrows the first failure of its host kernels, if any.</summary>
    public void ThrowIfFailed()
    {
        _body = null;
        if (_error is { } e)
        {
            _error = null;
            throw new AggregateException("Host attention inside the step graph failed.", e);
        }
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
        _items = body;
        try
        {
            OrtCustomOps.ParallelFor(_context, &Work, count, GCHandle.ToIntPtr(_self));
        }
        finally
        {
            _items = null;
        }
        if (_error is { } e) throw new AggregateException("A host attention work item failed.", e);
    }

    public void Dispose()
    {
        Instance.Dispose();
        if (_self.IsAllocated) _self.Free();
    }

    private void Item(int i)
    {
        try
        {
            _items!(i);
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _error, e, null);
        }
    }

    private void Compute(nint context)
    {
        if (_error is not null) return; // an earlier layer failed: the run's result is discarded anyway
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
            self = (OrtHostAttention)GCHandle.FromIntPtr((nint)(*(long*)OrtCustomOps.Input(context, 0))).Target!;
            self.Compute(context);
        }
        catch (Exception e)
        {
            // Nothing may unwind into native code: the error surfaces from ThrowIfFailed() on the caller's thread.
            if (self is not null) Interlocked.CompareExchange(ref self._error, e, null);
        }
    }

    [UnmanagedCallersOnly]
    private static void Work(nint handle, nuint index) => ((OrtHostAttention)GCHandle.FromIntPtr(handle).Target!).Item((int)index);
}
