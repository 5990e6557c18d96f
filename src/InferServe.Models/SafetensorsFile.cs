using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace InferServe.Models;

/// <summary>Reads one .safetensors file through a memory map; converts F32/F16/BF16 to fp32 on read.</summary>
public sealed class SafetensorsFile : IDisposable
{
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly long _dataStart;
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    private readonly record struct Entry(string DType, int[] Shape, long Begin, long End);

    public string Path { get; }
    public IEnumerable<string> TensorNames => _entries.Keys;

    public SafetensorsFile(string path)
    {
        Path = path;
        // FileInfo describes a symlink itself; Hugging Face cache snapshots are symlinks into blobs/.
        var info = new FileInfo(path);
        var length = (info.LinkTarget is null ? info : info.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? info).Length;
        if (length < 8) throw new ModelLoadException($"'{path}' is not a safetensors file (too small).");
        _map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        long headerLen = _view.ReadInt64(0);
        if (headerLen <= 0 || headerLen > length - 8 || headerLen > 100_000_000)
            throw new ModelLoadException($"'{path}' has an invalid safetensors header length {headerLen}.");
        var header = new byte[headerLen];
        _view.ReadArray(8, header, 0, header.Length);
        _dataStart = 8 + headerLen;
        try
        {
            using var doc = JsonDocument.Parse(header);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__") continue;
                var dtype = prop.Value.GetProperty("dtype").GetString()!;
                var shape = prop.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
                var offsets = prop.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                if (offsets.Length != 2 || offsets[0] > offsets[1] || _dataStart + offsets[1] > length)
                    throw new ModelLoadException($"'{path}': tensor '{prop.Name}' has data offsets outside the file.");
                _entries[prop.Name] = new Entry(dtype, shape, offsets[0], offsets[1]);
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new ModelLoadException($"'{path}' has a malformed safetensors header: {e.Message}", e);
        }
    }

    public bool Contains(string name) => _entries.ContainsKey(name);

    public unsafe WeightTensor Read(string name)
    {
        if (!_entries.TryGetValue(name, out var e)) throw new ModelLoadException($"'{Path}' has no tensor '{name}'.");
        long count = e.Shape.Aggregate(1L, (a, b) => a * b);
        int elemSize = e.DType switch
        {
            "F32" => 4,
            "F16" or "BF16" => 2,
            _ => throw new ModelLoadException($"Tensor '{name}' in '{Path}' has dtype {e.DType}; supported are F32, F16 and BF16."),
        };
        if ((e.End - e.Begin) != count * elemSize)
            throw new ModelLoadException($"Tensor '{name}' in '{Path}': byte size {e.End - e.Begin} does not match shape [{string.Join(",", e.Shape)}] of {e.DType}.");
        var result = new float[count];
        byte* basePtr = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePtr);
        try
        {
            byte* src = basePtr + _view.PointerOffset + _dataStart + e.Begin;
            switch (e.DType)
            {
                case "F32":
                    new ReadOnlySpan<float>(src, (int)count).CopyTo(result);
                    break;
                case "F16":
                    System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(src, (int)count), result);
                    break;
                case "BF16":
                    var bf = new ReadOnlySpan<ushort>(src, (int)count);
                    var dst = MemoryMarshal.Cast<float, uint>(result.AsSpan());
                    for (int i = 0; i < bf.Length; i++) dst[i] = (uint)bf[i] << 16;
                    break;
            }
        }
        finally
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
        }
        return new WeightTensor(name, e.Shape, result);
    }

    public void Dispose()
    {
        _view.Dispose();
        _map.Dispose();
    }
}
