using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace InferServe.Backend;

/// <summary>Runs <c>body(i)</c> for i in [0, count) on some set of threads and returns when all are done.</summary>
public interface IParallelFor
{
    void For(int count, Action<int> body);
}

/// <summary>The .NET thread pool (Parallel.For): the fallback where no ORT thread pool can take host work.</summary>
public sealed class ThreadPoolParallelFor : IParallelFor
{
    public static ThreadPoolParallelFor Instance { get; } = new();
    public void For(int count, Action<int> body) => Parallel.For(0, count, body);
}

/// <summary>
/// Host work on ONNX Runtime's own intra-op thread pool. ORT's workers spin between graph calls
/// (that keeps back-to-back layer graphs cheap), so a .NET thread pool fork between two graphs
/// competes with a spinning worker for the same cores and gains nothing. Instead, a one-node graph
/// whose custom kernel (this class, through C function pointers) calls KernelContext_ParallelFor
/// hands the work to those same workers: no contention, no wake-ups.
/// </summary>
public sealed unsafe class OrtHostParallelFor : HostOpInstance, IParallelFor
{
    /// <summary>Custom-op domain and type the host graph's one node uses.</summary>
    public const string Domain = OrtCustomOps.Domain;
    public const string OpType = "HostParallelFor";
    /// <summary>The graph's input (int64[1], the instance handle) and output (int64[1], unused).</summary>
    public const string InputName = "instance";
    public const string OutputName = "done";

    private readonly InferenceSession _session;
    private readonly OrtIoBinding _binding;
    private readonly RunOptions _runOptions = new();
    private readonly NativeTensor _output = new(1, 1, TensorElementType.Int64);
    private Action<int>? _body;
    private int _count;

    private OrtHostParallelFor(byte[] model, SessionOptions options)
    {
        _session = new InferenceSession(model, options);
        _binding = _session.CreateIoBinding();
        _binding.BindInput(InputName, Instance.View(1, vector: true));
        _binding.BindOutput(OutputName, _output.View(1, vector: true));
    }

    /// <summary>
    /// Loads the host graph (built by the caller: one <see cref="OpType"/> node in <see cref="Domain"/>,
    /// <see cref="InputName"/> → <see cref="OutputName"/>) on the backend's shared CPU thread pool.
    /// Returns null, with the reason, where the loaded ONNX Runtime cannot run it.
    /// </summary>
    public static OrtHostParallelFor? TryCreate(OrtBackend backend, byte[] model, out string? whyNot)
    {
        whyNot = null;
        try
        {
            if (!backend.UsesGlobalThreadPool) { whyNot = "ORT runs per-session thread pools here"; return null; }
            using var so = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
            so.DisablePerSessionThreads();
            OrtCustomOps.AddDomain(so);
            return new OrtHostParallelFor(model, so);
        }
        catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException or BackendException)
        {
            whyNot = e.Message;
            return null;
        }
    }

    public void For(int count, Action<int> body)
    {
        if (count <= 0) return;
        (_body, _count) = (body, count);
        ResetError();
        _output.Rows<long>(1)[0] = -1;
        try
        {
            _session.RunWithBinding(_runOptions, _binding);
        }
        finally
        {
            _body = null;
        }
        ThrowIfFailed("Host work on the ORT thread pool failed.");
        if (_output.Rows<long>(1)[0] != count) throw new BackendException("The host parallel-for kernel did not run.");
    }

    public override void Dispose()
    {
        _binding.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
        _output.Dispose();
        base.Dispose();
    }

    /// <summary>One int64 input (the instance handle) and one int64 output (the item count, proof the kernel ran).</summary>
    internal static OrtCustomOps.OpSpec Op => new(OpType, [TensorElementType.Int64], [TensorElementType.Int64], (nint)(delegate* unmanaged<nint, nint, void>)&Compute);

    /// <summary>Reads the instance handle from the input, then fans its items out over ORT's pool.</summary>
    [UnmanagedCallersOnly]
    private static void Compute(nint kernel, nint context)
    {
        OrtHostParallelFor? self = null;
        try
        {
            self = FromKernel<OrtHostParallelFor>(context);
            long dim = 1;
            *(long*)OrtCustomOps.Output(context, 0, &dim, 1) = self._count;
            self.ParallelFor(context, self._count, self._body!);
        }
        catch (Exception e)
        {
            // Nothing may unwind into native code: the error surfaces from For() on the caller's thread.
            self?.Fail(e);
        }
    }
}
