using System.Runtime.InteropServices;
using System.Text.Json;

namespace InferServe.Models;

/// <summary>Writes tensors to a .safetensors file in F32, F16 or BF16.</summary>
public static class SafetensorsWriter
{
    public static void Write(string path, IReadOnlyList<WeightTensor> tensors, string dtype = "F32") =>
        Write(path, tensors.Select(t => (t.Name, t.Shape)).ToList(), i => tensors[i].Data, dtype);

    /// <summary>Streams tensors produced one at a time, so huge checkpoints never sit in memory whole.</summary>
    public static void Write(string path, IReadOnlyList<(string Name, int[] Shape)> layout, Func<int, float[]> produce, string dtype = "F32")
    {
        int elemSize = dtype switch { "F32" => 4, "F16" or "BF16" => 2, _ => throw new ArgumentException($"Unsupported dtype {dtype}.") };
        var header = new Dictionary<string, object>();
        long offset = 0;
        foreach (var (name, shape) in layout)
        {
            long bytes = shape.Aggregate(1L, (a, b) => a * b) * elemSize;
            header[name] = new { dtype, shape, data_offsets = new[] { offset, offset + bytes } };
            offset += bytes;
        }
        var json = JsonSerializer.SerializeToUtf8Bytes(header);
        int pad = (8 - json.Length % 8) % 8; // keep data 8-byte aligned, as the reference writer does
        var headerBytes = new byte[json.Length + pad];
        json.CopyTo(headerBytes, 0);
        for (int i = json.Length; i < headerBytes.Length; i++) headerBytes[i] = (byte)' ';

        using var stream = File.Create(path);
        stream.Write(BitConverter.GetBytes((long)headerBytes.Length));
        stream.Write(headerBytes);
        for (int index = 0; index < layout.Count; index++)
        {
            var t = new WeightTensor(layout[index].Name, layout[index].Shape, produce(index));
            switch (dtype)
            {
                case "F32":
                    stream.Write(MemoryMarshal.AsBytes(t.Data.AsSpan()));
                    break;
                case "F16":
                    var half = new Half[t.Data.Length];
                    System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(t.Data, half);
                    stream.Write(MemoryMarshal.AsBytes(half.AsSpan()));
                    break;
                case "BF16":
                    var bf = new ushort[t.Data.Length];
                    var bits = MemoryMarshal.Cast<float, uint>(t.Data.AsSpan());
                    for (int i = 0; i < bf.Length; i++)
                    {
                        uint b = bits[i];
                        bf[i] = (ushort)((b + 0x7FFF + ((b >> 16) & 1)) >> 16); // round to nearest even
                    }
                    stream.Write(MemoryMarshal.AsBytes(bf.AsSpan()));
                    break;
            }
        }
    }
}
