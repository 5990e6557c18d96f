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
public sealed unsafe class OrtHostParallelFor : IParallelFor, IDisposable
{
    /// <summary>Custom-op domain and type the host graph's one node uses.</summary>
    public const string Domain = "ai.inferserve.host";
    public const string OpType = "HostParallelFor";
    /// <summary>The graph's input (int64[1], the instance handle) and output (int64[1], unused).</summary>
    public const string InputName = "instance";
    public const string OutputName = "done";

    private const uint ApiVersion = 17; // KernelContext_ParallelFor arrived in API 17 (ORT 1.17)

    private readonly InferenceSession _session;
    private readonly OrtIoBinding _binding;
    private readonly RunOptions _runOptions = new();
    private readonly NativeTensor _input = new(1, 1, TensorElementType.Int64);
    private readonly NativeTensor _output = new(1, 1, TensorElementType.Int64);
    private GCHandle _self;
    private Action<int>? _body;
    private int _count;
    private Exception? _error;

    private OrtHostParallelFor(byte[] model, SessionOptions options)
    {
        _session = new InferenceSession(model, options);
        _self = GCHandle.Alloc(this);
        _input.Rows<long>(1)[0] = GCHandle.ToIntPtr(_self);
        _binding = _session.CreateIoBinding();
        _binding.BindInput(InputName, _input.View(1, vector: true));
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
            Native.AddDomain(so);
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
        (_body, _count, _error) = (body, count, null);
        _output.Rows<long>(1)[0] = -1;
        try
        {
            _session.RunWithBinding(_runOptions, _binding);
        }
        finally
        {
            _body = null;
        }
        if (_error is { } e) throw new AggregateException("Host work on the ORT thread pool failed.", e);
        if (_output.Rows<long>(1)[0] != count) throw new BackendException("The host parallel-for kernel did not run.");
    }

    public void Dispose()
    {
        _binding.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
        _input.Dispose();
        _output.Dispose();
        if (_self.IsAllocated) _self.Free();
    }

    private void Item(int i)
    {
        try
        {
            _body!(i);
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _error, e, null);
        }
    }

    /// <summary>The C side: OrtApi entry points and the OrtCustomOp vtable, created once per process.</summary>
    private static class Native
    {
        private static readonly object Lock = new();
        private static nint _domain;
        private static nint _api;

        [DllImport("onnxruntime", EntryPoint = "OrtGetApiBase")]
        private static extern nint OrtGetApiBase();

        private static nint Fn(string name) => *(nint*)(_api + Marshal.OffsetOf<OrtApi>(name));

        private static void Check(nint status)
        {
            if (status == 0) return;
            var message = Marshal.PtrToStringUTF8(((delegate* unmanaged<nint, nint>)Fn(nameof(OrtApi.GetErrorMessage)))(status));
            ((delegate* unmanaged<nint, void>)Fn(nameof(OrtApi.ReleaseStatus)))(status);
            throw new BackendException($"ONNX Runtime: {message}");
        }

        public static void AddDomain(SessionOptions options)
        {
            lock (Lock)
            {
                if (_domain == 0)
                {
                    var apiBase = OrtGetApiBase();
                    _api = ((delegate* unmanaged<uint, nint>)*(nint*)apiBase)(ApiVersion);
                    if (_api == 0) throw new BackendException($"The loaded ONNX Runtime does not offer API version {ApiVersion}.");
                    nint domain;
                    Check(((delegate* unmanaged<nint, nint*, nint>)Fn(nameof(OrtApi.CreateCustomOpDomain)))(Utf8(Domain), &domain));
                    Check(((delegate* unmanaged<nint, nint, nint>)Fn(nameof(OrtApi.CustomOpDomain_Add)))(domain, CreateOp()));
                    _domain = domain; // lives for the process: every host session shares it
                }
                Check(((delegate* unmanaged<nint, nint, nint>)Fn(nameof(OrtApi.AddCustomOpDomain)))(options.DangerousGetHandle(), _domain));
            }
        }

        private static nint Utf8(string s)
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(s + "\0");
            var p = (nint)NativeMemory.Alloc((nuint)bytes.Length);
            bytes.CopyTo(new Span<byte>((void*)p, bytes.Length));
            return p;
        }

        private static nint _name;

        /// <summary>An OrtCustomOp (version 13: no variadic I/O, no V2 kernels) for one int64 input and output.</summary>
        private static nint CreateOp()
        {
            const int slots = 26; // uint32 version (padded) + 25 callbacks, as in onnxruntime_c_api.h
            var op = (nint*)NativeMemory.AllocZeroed((nuint)(slots * sizeof(nint)));
            *(uint*)op = 13;
            _name = Utf8(OpType);
            op[1] = (nint)(delegate* unmanaged<nint, nint, nint, nint>)&CreateKernel;
            op[2] = (nint)(delegate* unmanaged<nint, nint>)&GetName;
            op[3] = (nint)(delegate* unmanaged<nint, nint>)&GetExecutionProviderType;
            op[4] = (nint)(delegate* unmanaged<nint, nuint, int>)&GetType;
            op[5] = (nint)(delegate* unmanaged<nint, nuint>)&GetOne;
            op[6] = (nint)(delegate* unmanaged<nint, nuint, int>)&GetType;
            op[7] = (nint)(delegate* unmanaged<nint, nuint>)&GetOne;
            op[8] = (nint)(delegate* unmanaged<nint, nint, void>)&Compute;
            op[9] = (nint)(delegate* unmanaged<nint, void>)&Destroy;
            op[10] = (nint)(delegate* unmanaged<nint, nuint, int>)&Required;
            op[11] = (nint)(delegate* unmanaged<nint, nuint, int>)&Required;
            op[12] = (nint)(delegate* unmanaged<nint, nuint, int>)&DefaultMemory;
            return (nint)op;
        }

        [UnmanagedCallersOnly] private static nint CreateKernel(nint op, nint api, nint info) => 1;
        [UnmanagedCallersOnly] private static nint GetName(nint op) => _name;
        [UnmanagedCallersOnly] private static nint GetExecutionProviderType(nint op) => 0; // CPU
        [UnmanagedCallersOnly] private static int GetType(nint op, nuint index) => (int)TensorElementType.Int64;
        [UnmanagedCallersOnly] private static nuint GetOne(nint op) => 1;
        [UnmanagedCallersOnly] private static int Required(nint op, nuint index) => 0; // INPUT_OUTPUT_REQUIRED
        [UnmanagedCallersOnly] private static int DefaultMemory(nint op, nuint index) => 0; // OrtMemTypeDefault
        [UnmanagedCallersOnly] private static void Destroy(nint kernel) { }

        /// <summary>Reads the instance handle from the input, then fans its items out over ORT's pool.</summary>
        [UnmanagedCallersOnly]
        private static void Compute(nint kernel, nint context)
        {
            OrtHostParallelFor? self = null;
            try
            {
                nint input, output, data;
                Check(((delegate* unmanaged<nint, nuint, nint*, nint>)Fn(nameof(OrtApi.KernelContext_GetInput)))(context, 0, &input));
                Check(((delegate* unmanaged<nint, nint*, nint>)Fn(nameof(OrtApi.GetTensorMutableData)))(input, &data));
                var handle = (nint)(*(long*)data);
                self = (OrtHostParallelFor)GCHandle.FromIntPtr(handle).Target!;
                long dim = 1;
                Check(((delegate* unmanaged<nint, nuint, long*, nuint, nint*, nint>)Fn(nameof(OrtApi.KernelContext_GetOutput)))(context, 0, &dim, 1, &output));
                Check(((delegate* unmanaged<nint, nint*, nint>)Fn(nameof(OrtApi.GetTensorMutableData)))(output, &data));
                *(long*)data = self._count;
                Check(((delegate* unmanaged<nint, delegate* unmanaged<nint, nuint, void>, nuint, nuint, nint, nint>)Fn(nameof(OrtApi.KernelContext_ParallelFor)))(
                    context, &Work, (nuint)self._count, 0, handle));
            }
            catch (Exception e)
            {
                // Nothing may unwind into native code: the error surfaces from For() on the caller's thread.
                if (self is not null) Interlocked.CompareExchange(ref self._error, e, null);
            }
        }

        [UnmanagedCallersOnly]
        private static void Work(nint handle, nuint index) => ((OrtHostParallelFor)GCHandle.FromIntPtr(handle).Target!).Item((int)index);
    }
}
