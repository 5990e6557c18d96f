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
        try
        {
            long headerLen = _view.ReadInt64(0);
            if (headerLen <= 0 || headerLen > length - 8 || headerLen > 100_000_000)
                throw new ModelLoadException($"'{path}' has an invalid safetensors header length {headerLen}.");
            var header = new byte[headerLen];
            _view.ReadArray(8, header, 0, header.Length);
            _dataStart = 8 + headerLen;
            ParseHeader(header, length - _dataStart);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    private void ParseHeader(byte[] header, long dataLength)
    {
        try
        {
            using var doc = JsonDocument.Parse(header);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Malformed("the header is not a JSON object");
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__") continue;
                _entries[prop.Name] = ParseEntry(prop.Name, prop.Value, dataLength);
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException) // invalid JSON, or text that is not valid UTF-16
        {
            throw Malformed(e.Message, e);
        }
        CheckNoOverlaps();
    }

    /// <summary>One tensor's header entry, validated: offsets inside the data section, a shape of non-negative dims.</summary>
    private Entry ParseEntry(string name, JsonElement value, long dataLength)
    {
        if (value.ValueKind != JsonValueKind.Object) throw Malformed($"tensor '{name}' is not an object");
        if (!value.TryGetProperty("dtype", out var dtype) || dtype.ValueKind != JsonValueKind.String)
            throw Malformed($"tensor '{name}' has no string 'dtype'");
        var shape = Integers(name, value, "shape", int.MaxValue).Select(d => (int)d).ToArray();
        var offsets = Integers(name, value, "data_offsets", long.MaxValue);
        if (offsets.Length != 2 || offsets[0] > offsets[1] || offsets[1] > dataLength)
            throw new ModelLoadException($"'{Path}': tensor '{name}' has data offsets outside the file.");
        return new Entry(dtype.GetString()!, shape, offsets[0], offsets[1]);
    }

    private long[] Integers(string tensor, JsonElement value, string field, long max)
    {
        if (!value.TryGetProperty(field, out var array) || array.ValueKind != JsonValueKind.Array)
            throw Malformed($"tensor '{tensor}' has no array '{field}'");
        var result = new long[array.GetArrayLength()];
        int i = 0;
        foreach (var e in array.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out long v) || v < 0 || v > max)
                throw Malformed($"tensor '{tensor}': '{field}' must hold integers from 0 to {max}, got {e.GetRawText()}");
            result[i++] = v;
        }
        return result;
    }

    /// <summary>The safetensors format forbids tensors sharing bytes; a file where they do is corrupt or crafted.</summary>
    private void CheckNoOverlaps()
    {
        var sorted = _entries.Where(e => e.Value.End > e.Value.Begin).OrderBy(e => e.Value.Begin).ToList();
        for (int i = 1; i < sorted.Count; i++)
        {
            if (sorted[i].Value.Begin < sorted[i - 1].Value.End)
                throw new ModelLoadException($"'{Path}': tensors '{sorted[i - 1].Key}' and '{sorted[i].Key}' overlap in the data section.");
        }
    }

    private ModelLoadException Malformed(string why, Exception? inner = null) =>
        new($"'{Path}' has a malformed safetensors header: {why}", inner);

    public bool Contains(string name) => _entries.ContainsKey(name);

    public unsafe WeightTensor Read(string name)
    {
        if (!_entries.TryGetValue(name, out var e)) throw new ModelLoadException($"'{Path}' has no tensor '{name}'.");
        long count = 1;
        foreach (int d in e.Shape)
        {
            count *= d;
            if (count > Array.MaxLength) throw new ModelLoadException($"Tensor '{name}' in '{Path}': shape [{string.Join(",", e.Shape)}] is too large to load.");
        }
        int elemSize = e.DType switch
        {
            "F32" => 4,
            "F16" or "BF16" => 2,
            _ => throw new ModelLoadException($"Tensor '{name}' in '{Path}' has dtype {e.DType}; supported are F32, F16 and BF16."),
        };
        if (e.End - e.Begin != count * elemSize)
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
