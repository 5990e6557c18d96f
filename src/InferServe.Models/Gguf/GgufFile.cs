using System.IO.MemoryMappedFiles;
using System.Text;
using InferServe.Tokenization.Gguf;

namespace InferServe.Models.Gguf;

/// <summary>One tensor's entry in a GGUF file: dims as ggml stores them (innermost first).</summary>
public sealed record GgufTensorInfo(string Name, long[] Dims, GgmlType Type, long Offset)
{
    /// <summary>The product of the dims; checked, since the dims come from the file (an overflow is a load error).</summary>
    public long ElementCount => Dims.Aggregate(1L, (a, b) => checked(a * b));

    /// <summary>PyTorch order: outermost first, so a matrix is [rows=out, cols=in].</summary>
    public int[] Shape => Dims.Reverse().Select(d => checked((int)d)).ToArray();
}

/// <summary>
/// A GGUF file: metadata, tensor infos and the tensor data through a memory map. Reads any tensor as fp32
/// (dequantizing the supported ggml types).
/// </summary>
public sealed class GgufFile : IDisposable
{
    private const int DefaultAlignment = 32;
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly long _dataStart;
    private readonly Dictionary<string, GgufTensorInfo> _tensors = new(StringComparer.Ordinal);

    public string Path { get; }
    public GgufMetadata Metadata { get; }
    public IReadOnlyDictionary<string, GgufTensorInfo> Tensors => _tensors;

    public GgufFile(string path)
    {
        Path = path;
        long length = new FileInfo(path).Length;
        try
        {
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
            {
                Metadata = GgufMetadata.Read(stream);
                using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
                for (ulong i = 0; i < Metadata.TensorCount; i++)
                {
                    string name = GgufMetadata.ReadString(reader);
                    uint nDims = reader.ReadUInt32();
                    if (nDims is 0 or > 4) throw new InvalidDataException($"tensor '{name}' has {nDims} dimensions");
                    var dims = new long[nDims];
                    for (int d = 0; d < nDims; d++) dims[d] = checked((long)reader.ReadUInt64());
                    var type = (GgmlType)reader.ReadUInt32();
                    long offset = checked((long)reader.ReadUInt64());
                    _tensors[name] = new GgufTensorInfo(name, dims, type, offset);
                }

                long alignment = Metadata.GetInteger("general.alignment") ?? DefaultAlignment;
                if (alignment <= 0 || (alignment & (alignment - 1)) != 0) throw new InvalidDataException($"general.alignment {alignment} is not a power of two");
                _dataStart = (stream.Position + alignment - 1) / alignment * alignment;
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or OverflowException)
        {
            throw new ModelLoadException($"'{path}' is not a readable GGUF file: {e.Message}.", e);
        }

        foreach (var t in _tensors.Values)
        {
            if (GgmlDequantizer.Layout(t.Type) is not { } layout) continue; // refused when read
            long end;
            try
            {
                end = checked(_dataStart + t.Offset + t.ElementCount / layout.BlockElements * layout.BlockBytes);
            }
            catch (OverflowException)
            {
                throw new ModelLoadException($"'{path}': tensor '{t.Name}' has dims [{string.Join(",", t.Dims)}] and offset {t.Offset} beyond any file size.");
            }
            if (end > length)
                throw new ModelLoadException($"'{path}' is truncated: tensor '{t.Name}' ends past the end of the file.");
        }

        _map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
    }

    /// <summary>The tensor dequantized to fp32, in the shape of <see cref="GgufTensorInfo.Shape"/>.</summary>
    public unsafe float[] ReadFloats(GgufTensorInfo t)
    {
        var (blockElements, blockBytes) = GgmlDequantizer.Layout(t.Type)
            ?? throw new ModelLoadException($"Tensor '{t.Name}' in '{Path}' has type {Describe(t.Type)}, which is not supported; supported are {GgmlDequantizer.SupportedTypes}.");
        if (t.Dims[0] % blockElements != 0)
            throw new ModelLoadException($"Tensor '{t.Name}' in '{Path}': row length {t.Dims[0]} is not a multiple of the {t.Type} block size {blockElements}.");
        if (t.ElementCount > Array.MaxLength)
            throw new ModelLoadException($"Tensor '{t.Name}' in '{Path}' has {t.ElementCount} elements, too many to load.");
        var result = new float[t.ElementCount];
        byte* basePtr = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePtr);
        try
        {
            byte* src = basePtr + _view.PointerOffset + _dataStart + t.Offset;
            GgmlDequantizer.DequantizeParallel(t.Type, src, t.ElementCount / blockElements * blockBytes, result);
        }
        finally
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
        }
        return result;
    }

    private static string Describe(GgmlType type) => Enum.IsDefined(type) ? type.ToString() : $"#{(uint)type}";

    public void Dispose()
    {
        _view.Dispose();
        _map.Dispose();
    }
}
