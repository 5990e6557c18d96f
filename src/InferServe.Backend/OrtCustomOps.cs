using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace InferServe.Backend;

/// <summary>
/// The C side of the host custom ops (domain <see cref="Domain"/>): OrtApi entry points, the OrtCustomOp vtables and
/// the kernel-context calls their kernels make. One domain per process holds every host op; a session that runs host
/// ops adds it with <see cref="AddDomain"/>. Kernels find their C# instance through a GCHandle passed as input 0.
/// </summary>
internal static unsafe class OrtCustomOps
{
    public const string Domain = "ai.inferserve.host";
    private const uint ApiVersion = 17; // KernelContext_ParallelFor arrived in API 17 (ORT 1.17)
    private const int Slots = 26; // uint32 version (padded) + 25 callbacks, as in onnxruntime_c_api.h

    private static readonly object Lock = new();
    private static nint _domain;
    private static nint _api;

    /// <summary>A host op: its name, input and output element types, and its compute callback.</summary>
    public readonly record struct OpSpec(string Name, TensorElementType[] Inputs, TensorElementType[] Outputs, nint Compute);

    [DllImport("onnxruntime", EntryPoint = "OrtGetApiBase")]
    private static extern nint OrtGetApiBase();

    private static nint Fn(string name) => *(nint*)(_api + Marshal.OffsetOf<OrtApi>(name));

    public static void Check(nint status)
    {
        if (status == 0) return;
        var message = Marshal.PtrToStringUTF8(((delegate* unmanaged<nint, nint>)Fn(nameof(OrtApi.GetErrorMessage)))(status));
        ((delegate* unmanaged<nint, void>)Fn(nameof(OrtApi.ReleaseStatus)))(status);
        throw new BackendException($"ONNX Runtime: {message}");
    }

    /// <summary>Every host op, registered together: a domain is created once per process.</summary>
    private static OpSpec[] Ops => [OrtHostParallelFor.Op, OrtHostAttention.Op];

    /// <summary>Adds the host-op domain to <paramref name="options"/>, creating it on first use.</summary>
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
                foreach (var op in Ops) Check(((delegate* unmanaged<nint, nint, nint>)Fn(nameof(OrtApi.CustomOpDomain_Add)))(domain, CreateOp(op)));
                _domain = domain; // lives for the process: every host session shares it
            }
            Check(((delegate* unmanaged<nint, nint, nint>)Fn(nameof(OrtApi.AddCustomOpDomain)))(options.DangerousGetHandle(), _domain));
        }
    }

    /// <summary>The data of a kernel's input <paramref name="index"/>.</summary>
    public static void* Input(nint context, int index)
    {
        nint value, data;
        Check(((delegate* unmanaged<nint, nuint, nint*, nint>)Fn(nameof(OrtApi.KernelContext_GetInput)))(context, (nuint)index, &value));
        Check(((delegate* unmanaged<nint, nint*, nint>)Fn(nameof(OrtApi.GetTensorMutableData)))(value, &data));
        return (void*)data;
    }

    /// <summary>A kernel's input <paramref name="index"/> seen as a matrix: [first dimension, product of the rest]; returns its data.</summary>
    public static float* InputMatrix(nint context, int index, out long rows, out long width)
    {
        nint value, info, data;
        nuint rank;
        Check(((delegate* unmanaged<nint, nuint, nint*, nint>)Fn(nameof(OrtApi.KernelContext_GetInput)))(context, (nuint)index, &value));
        Check(((delegate* unmanaged<nint, nint*, nint>)Fn(nameof(OrtApi.GetTensorTypeAndShape)))(value, &info));
        try
        {
            Check(((delegate* unmanaged<nint, nuint*, nint>)Fn(nameof(OrtApi.GetDimensionsCount)))(info, &rank));
            if (rank is 0 or > 8) throw new BackendException($"A host op's matrix input has rank {rank}.");
            var dims = stackalloc long[(int)rank];
            Check(((delegate* unmanaged<nint, long*, nuint, nint>)Fn(nameof(OrtApi.GetDimensions)))(info, dims, rank));
            (rows, width) = (dims[0], 1);
            for (int d = 1; d < (int)rank; d++) width *= dims[d];
        }
        finally
        {
            ((delegate* unmanaged<nint, void>)Fn(nameof(OrtApi.ReleaseTensorTypeAndShapeInfo)))(info);
        }
        Check(((delegate* unmanaged<nint, nint*, nint>)Fn(nameof(OrtApi.GetTensorMutableData)))(value, &data));
        return (float*)data;
    }

    /// <summary>Allocates (through ORT) the kernel's output <paramref name="index"/> of the given shape; returns its data.</summary>
    public static void* Output(nint context, int index, long* dims, int rank)
    {
        nint value, data;
        Check(((delegate* unmanaged<nint, nuint, long*, nuint, nint*, nint>)Fn(nameof(OrtApi.KernelContext_GetOutput)))(context, (nuint)index, dims, (nuint)rank, &value));
        Check(((delegate* unmanaged<nint, nint*, nint>)Fn(nameof(OrtApi.GetTensorMutableData)))(value, &data));
        return (void*)data;
    }

    /// <summary>Runs <paramref name="work"/>(state, i) for i in [0, count) on ORT's intra-op threads and the caller.</summary>
    public static void ParallelFor(nint context, delegate* unmanaged<nint, nuint, void> work, int count, nint state) =>
        Check(((delegate* unmanaged<nint, delegate* unmanaged<nint, nuint, void>, nuint, nuint, nint, nint>)Fn(nameof(OrtApi.KernelContext_ParallelFor)))(
            context, work, (nuint)count, 0, state));

    private static nint Utf8(string s)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(s + "\0");
        var p = (nint)NativeMemory.Alloc((nuint)bytes.Length);
        bytes.CopyTo(new Span<byte>((void*)p, bytes.Length));
        return p;
    }

    // Past the vtable each op keeps its name and types, so the shared callbacks answer per op.
    private const int NameSlot = Slots, InputCountSlot = Slots + 1, OutputCountSlot = Slots + 2, TypesSlot = Slots + 3;

    /// <summary>An OrtCustomOp (version 13: no variadic I/O, no V2 kernels) followed by the op's own data.</summary>
    private static nint CreateOp(OpSpec spec)
    {
        int slots = TypesSlot + spec.Inputs.Length + spec.Outputs.Length;
        var op = (nint*)NativeMemory.AllocZeroed((nuint)(slots * sizeof(nint)));
        *(uint*)op = 13;
        op[1] = (nint)(delegate* unmanaged<nint, nint, nint, nint>)&CreateKernel;
        op[2] = (nint)(delegate* unmanaged<nint, nint>)&GetName;
        op[3] = (nint)(delegate* unmanaged<nint, nint>)&GetExecutionProviderType;
        op[4] = (nint)(delegate* unmanaged<nint, nuint, int>)&GetInputType;
        op[5] = (nint)(delegate* unmanaged<nint, nuint>)&GetInputCount;
        op[6] = (nint)(delegate* unmanaged<nint, nuint, int>)&GetOutputType;
        op[7] = (nint)(delegate* unmanaged<nint, nuint>)&GetOutputCount;
        op[8] = spec.Compute;
        op[9] = (nint)(delegate* unmanaged<nint, void>)&Destroy;
        op[10] = (nint)(delegate* unmanaged<nint, nuint, int>)&Required;
        op[11] = (nint)(delegate* unmanaged<nint, nuint, int>)&Required;
        op[12] = (nint)(delegate* unmanaged<nint, nuint, int>)&DefaultMemory;
        op[NameSlot] = Utf8(spec.Name);
        op[InputCountSlot] = spec.Inputs.Length;
        op[OutputCountSlot] = spec.Outputs.Length;
        for (int i = 0; i < spec.Inputs.Length; i++) op[TypesSlot + i] = (nint)spec.Inputs[i];
        for (int i = 0; i < spec.Outputs.Length; i++) op[TypesSlot + spec.Inputs.Length + i] = (nint)spec.Outputs[i];
        return (nint)op;
    }

    [UnmanagedCallersOnly] private static nint CreateKernel(nint op, nint api, nint info) => 1;
    [UnmanagedCallersOnly] private static nint GetName(nint op) => ((nint*)op)[NameSlot];
    [UnmanagedCallersOnly] private static nint GetExecutionProviderType(nint op) => 0; // CPU
    [UnmanagedCallersOnly] private static int GetInputType(nint op, nuint index) => (int)((nint*)op)[TypesSlot + (int)index];
    [UnmanagedCallersOnly] private static nuint GetInputCount(nint op) => (nuint)((nint*)op)[InputCountSlot];
    [UnmanagedCallersOnly] private static int GetOutputType(nint op, nuint index) => (int)((nint*)op)[TypesSlot + (int)((nint*)op)[InputCountSlot] + (int)index];
    [UnmanagedCallersOnly] private static nuint GetOutputCount(nint op) => (nuint)((nint*)op)[OutputCountSlot];
    [UnmanagedCallersOnly] private static int Required(nint op, nuint index) => 0; // INPUT_OUTPUT_REQUIRED
    [UnmanagedCallersOnly] private static int DefaultMemory(nint op, nuint index) => 0; // OrtMemTypeDefault
    [UnmanagedCallersOnly] private static void Destroy(nint kernel) { }
}
