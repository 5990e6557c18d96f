using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace InferServe.Backend;

/// <summary>
/// The C# side every host custom-op kernel shares: a GCHandle that the graph passes in as input 0 (<see cref="Instance"/>),
/// work items a kernel fans out through its kernel context's ParallelFor, and the first error of a run. Nothing may
/// unwind into ORT's native code, so kernels and items record their exception here and the caller rethrows it after the run.
/// </summary>
public abstract unsafe class HostOpInstance : IDisposable
{
    private GCHandle _self;
    private Action<int>? _items;
    private Exception? _error;

    /// <summary>int64[1] holding this instance's handle: bind it as the graph's instance input.</summary>
    public NativeTensor Instance { get; } = new(1, 1, TensorElementType.Int64);

    protected HostOpInstance()
    {
        _self = GCHandle.Alloc(this);
        Instance.Rows<long>(1)[0] = GCHandle.ToIntPtr(_self);
    }

    /// <summary>Whether a kernel or item of the current run has failed.</summary>
    protected bool Failed => _error is not null;

    /// <summary>Clears the error before a run.</summary>
    protected void ResetError() => _error = null;

    /// <summary>After a run: rethrows its first failure, if any, wrapped with <paramref name="message"/>.</summary>
    protected void ThrowIfFailed(string message)
    {
        if (_error is { } e)
        {
            _error = null;
            throw new AggregateException(message, e);
        }
    }

    /// <summary>The instance a kernel's input 0 names.</summary>
    internal static T FromKernel<T>(nint context) where T : HostOpInstance =>
        (T)GCHandle.FromIntPtr((nint)(*(long*)OrtCustomOps.Input(context, 0))).Target!;

    /// <summary>Keeps the first error of a run.</summary>
    internal void Fail(Exception e) => Interlocked.CompareExchange(ref _error, e, null);

    /// <summary>Runs <paramref name="body"/>(i) for i in [0, count) on ORT's intra-op threads (and this one), from inside a kernel.</summary>
    protected void ParallelFor(nint context, int count, Action<int> body)
    {
        _items = body;
        try
        {
            OrtCustomOps.ParallelFor(context, &Work, count, GCHandle.ToIntPtr(_self));
        }
        finally
        {
            _items = null;
        }
    }

    [UnmanagedCallersOnly]
    private static void Work(nint handle, nuint index)
    {
        var self = (HostOpInstance)GCHandle.FromIntPtr(handle).Target!;
        try
        {
            self._items!((int)index);
        }
        catch (Exception e)
        {
            self.Fail(e);
        }
    }

    public virtual void Dispose()
    {
        Instance.Dispose();
        if (_self.IsAllocated) _self.Free();
        GC.SuppressFinalize(this);
    }
}
