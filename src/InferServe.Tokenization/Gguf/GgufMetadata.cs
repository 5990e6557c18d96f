using System.Text;

namespace InferServe.Tokenization.Gguf;

/// <summary>
/// The header and key/value metadata of a GGUF file (versions 2 and 3, little-endian). Tensor infos
/// follow at <see cref="EndOffset"/>; the model loader reads those. Lives here, not in Models, so the
/// tokenizer can read a .gguf without a reference to the model project.
/// </summary>
public sealed class GgufMetadata
{
    public const uint Magic = 0x46554747; // "GGUF"

    public required uint Version { get; init; }
    public required ulong TensorCount { get; init; }
    public required IReadOnlyDictionary<string, object> Values { get; init; }

    /// <summary>Byte offset just past the metadata, where the tensor infos start.</summary>
    public required long EndOffset { get; init; }

    /// <exception cref="InvalidDataException">Not a GGUF file, an unsupported version, or truncated/malformed metadata.</exception>
    public static GgufMetadata Read(Stream stream)
    {
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        try
        {
            uint magic = reader.ReadUInt32();
            if (magic != Magic)
            {
                throw new InvalidDataException("not a GGUF file (bad magic)");
            }

            uint version = reader.ReadUInt32();
            if (version is not (2 or 3))
            {
                throw new InvalidDataException($"GGUF version {version} is not supported (only 2 and 3; big-endian files are not supported either)");
            }

            ulong tensors = reader.ReadUInt64();
            ulong count = reader.ReadUInt64();
            if (count > 1_000_000 || tensors > 10_000_000)
            {
                throw new InvalidDataException($"implausible GGUF counts: {tensors} tensors, {count} metadata keys");
            }

            var values = new Dictionary<string, object>((int)count, StringComparer.Ordinal);
            for (ulong i = 0; i < count; i++)
            {
                string key = ReadString(reader);
                values[key] = ReadValue(reader, (GgufValueType)reader.ReadUInt32(), key);
            }

            return new GgufMetadata { Version = version, TensorCount = tensors, Values = values, EndOffset = stream.Position };
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("GGUF file is truncated inside its metadata", e);
        }
    }

    public static GgufMetadata Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Read(stream);
    }

    public static string ReadString(BinaryReader reader)
    {
        ulong length = reader.ReadUInt64();
        long remaining = reader.BaseStream.Length - reader.BaseStream.Position;
        if (length > (ulong)remaining || length > int.MaxValue)
        {
            throw new InvalidDataException($"GGUF string length {length} runs past the end of the file");
        }

        return Encoding.UTF8.GetString(reader.ReadBytes((int)length));
    }

    private static object ReadValue(BinaryReader reader, GgufValueType type, string key) => type switch
    {
        GgufValueType.UInt8 => reader.ReadByte(),
        GgufValueType.Int8 => reader.ReadSByte(),
        GgufValueType.UInt16 => reader.ReadUInt16(),
        GgufValueType.Int16 => reader.ReadInt16(),
        GgufValueType.UInt32 => reader.ReadUInt32(),
        GgufValueType.Int32 => reader.ReadInt32(),
        GgufValueType.Float32 => reader.ReadSingle(),
        GgufValueType.Bool => reader.ReadByte() != 0,
        GgufValueType.String => ReadString(reader),
        GgufValueType.UInt64 => reader.ReadUInt64(),
        GgufValueType.Int64 => reader.ReadInt64(),
        GgufValueType.Float64 => reader.ReadDouble(),
        GgufValueType.Array => ReadArray(reader, key, depth: 0),
        _ => throw new InvalidDataException($"GGUF key '{key}' has unknown value type {(uint)type}"),
    };

    // Arrays of arrays are legal but never deep in practice; a bound keeps a crafted file from overflowing the stack.
    private const int MaxArrayNesting = 16;

    private static object ReadArray(BinaryReader reader, string key, int depth)
    {
        if (depth > MaxArrayNesting)
        {
            throw new InvalidDataException($"GGUF array '{key}' is nested deeper than {MaxArrayNesting} levels");
        }

        var type = (GgufValueType)reader.ReadUInt32();
        ulong count = reader.ReadUInt64();
        if (count > (ulong)(reader.BaseStream.Length - reader.BaseStream.Position))
        {
            throw new InvalidDataException($"GGUF array '{key}' has {count} items, more than the file can hold");
        }

        int n = (int)count;
        // Typed arrays: vocabularies have 100k+ entries, so no boxing per item.
        switch (type)
        {
            case GgufValueType.String:
                var strings = new string[n];
                for (int i = 0; i < n; i++) strings[i] = ReadString(reader);
                return strings;
            case GgufValueType.Float32:
                return ReadBlittable<float>(reader, n);
            case GgufValueType.Int32:
                return ReadBlittable<int>(reader, n);
            case GgufValueType.UInt32:
                return ReadBlittable<uint>(reader, n);
            case GgufValueType.UInt8:
                return reader.ReadBytes(n);
            case GgufValueType.Int8:
                return ReadBlittable<sbyte>(reader, n);
            case GgufValueType.UInt16:
                return ReadBlittable<ushort>(reader, n);
            case GgufValueType.Int16:
                return ReadBlittable<short>(reader, n);
            case GgufValueType.UInt64:
                return ReadBlittable<ulong>(reader, n);
            case GgufValueType.Int64:
                return ReadBlittable<long>(reader, n);
            case GgufValueType.Float64:
                return ReadBlittable<double>(reader, n);
            case GgufValueType.Bool:
                return reader.ReadBytes(n).Select(b => b != 0).ToArray();
            case GgufValueType.Array:
                var nested = new object[n];
                for (int i = 0; i < n; i++) nested[i] = ReadArray(reader, key, depth + 1);
                return nested;
            default:
                throw new InvalidDataException($"GGUF array '{key}' has unknown item type {(uint)type}");
        }
    }

    private static T[] ReadBlittable<T>(BinaryReader reader, int n)
        where T : unmanaged
    {
        var result = new T[n];
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(result.AsSpan());
        if (reader.Read(bytes) != bytes.Length)
        {
            throw new EndOfStreamException();
        }

        return result;
    }

    public bool Has(string key) => Values.ContainsKey(key);

    public string? GetString(string key) => Values.TryGetValue(key, out var v) ? v as string : null;

    /// <summary>Any integer type as a long (writers differ in the width they use).</summary>
    public long? GetInteger(string key) => Values.TryGetValue(key, out var v) ? v switch
    {
        byte b => b,
        sbyte sb => sb,
        ushort us => us,
        short s => s,
        uint ui => ui,
        int i => i,
        ulong ul => (long)ul,
        long l => l,
        _ => null,
    } : null;

    public double? GetFloat(string key) => Values.TryGetValue(key, out var v) ? v switch
    {
        float f => f,
        double d => d,
        _ => GetInteger(key),
    } : null;

    public bool? GetBool(string key) => Values.TryGetValue(key, out var v) && v is bool b ? b : null;

    public T[]? GetArray<T>(string key) => Values.TryGetValue(key, out var v) ? v as T[] : null;

    /// <summary>An integer array of any width as int[] (token types are int32 by convention, not by rule).</summary>
    public int[]? GetIntArray(string key) => Values.TryGetValue(key, out var v) ? v switch
    {
        int[] a => a,
        uint[] a => a.Select(x => (int)x).ToArray(),
        long[] a => a.Select(x => (int)x).ToArray(),
        ulong[] a => a.Select(x => (int)x).ToArray(),
        short[] a => a.Select(x => (int)x).ToArray(),
        ushort[] a => a.Select(x => (int)x).ToArray(),
        byte[] a => a.Select(x => (int)x).ToArray(),
        sbyte[] a => a.Select(x => (int)x).ToArray(),
        _ => null,
    } : null;
}

public enum GgufValueType : uint
{
    UInt8 = 0,
    Int8 = 1,
    UInt16 = 2,
    Int16 = 3,
    UInt32 = 4,
    Int32 = 5,
    Float32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    UInt64 = 10,
    Int64 = 11,
    Float64 = 12,
}
