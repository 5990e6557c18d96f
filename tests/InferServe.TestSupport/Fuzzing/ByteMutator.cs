using System.Buffers.Binary;

namespace InferServe.TestSupport.Fuzzing;

/// <summary>Mutations of binary inputs: bit flips, interesting integers at any offset or at a field's offset, splices, truncation.</summary>
public static class ByteMutator
{
    private static readonly long[] Interesting =
        [0, 1, -1, 2, 7, 8, 16, 31, 32, 64, 127, 128, 255, 256, 1023, 1024, 4096, 65535, 65536, 1 << 20,
         int.MaxValue, int.MinValue, uint.MaxValue, (long)int.MaxValue + 1, long.MaxValue, long.MinValue, long.MaxValue / 2, 1L << 40];

    public static long InterestingInt(Random r) => r.Next(4) == 0 ? r.NextInt64(-100_000, 100_000) : Interesting[r.Next(Interesting.Length)];

    /// <summary>Applies 1 to <paramref name="maxMutations"/> mutations; <paramref name="fieldOffsets"/> (e.g. header fields) get extra attention.</summary>
    public static byte[] Mutate(Random r, byte[] input, int maxMutations = 4, IReadOnlyList<int>? fieldOffsets = null)
    {
        var data = new List<byte>(input);
        int n = 1 + r.Next(maxMutations);
        for (int m = 0; m < n; m++)
        {
            int pos = data.Count == 0 ? 0 : fieldOffsets is { Count: > 0 } && r.Next(2) == 0
                ? Math.Min(fieldOffsets[r.Next(fieldOffsets.Count)], data.Count - 1)
                : r.Next(data.Count);
            switch (r.Next(9))
            {
                case 0 when data.Count > 0: data[pos] ^= (byte)(1 << r.Next(8)); break;
                case 1 when data.Count > 0: data[pos] = (byte)InterestingInt(r); break;
                case 2: WriteInt(data, pos, 4, InterestingInt(r)); break;
                case 3: WriteInt(data, pos, 8, InterestingInt(r)); break;
                case 4 when data.Count > 1: data.RemoveRange(r.Next(data.Count), 1); break;
                case 5 when data.Count > 0: data.RemoveRange(pos, r.Next(Math.Min(64, data.Count - pos) + 1)); break;
                case 6:
                    {
                        int len = Math.Min(r.Next(1, 32), data.Count - pos);
                        if (len > 0) data.InsertRange(Math.Min(data.Count, r.Next(data.Count + 1)), data.GetRange(pos, len));
                        break;
                    }
                case 7 when data.Count > 0: // truncate
                    {
                        int cut = r.Next(data.Count);
                        data.RemoveRange(cut, data.Count - cut);
                        break;
                    }
                default:
                    {
                        var junk = new byte[r.Next(1, 16)];
                        r.NextBytes(junk);
                        data.InsertRange(Math.Min(pos, data.Count), junk);
                        break;
                    }
            }
        }
        return data.ToArray();
    }

    private static void WriteInt(List<byte> data, int pos, int width, long value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
        for (int i = 0; i < width; i++)
        {
            if (pos + i < data.Count) data[pos + i] = bytes[i];
            else data.Add(bytes[i]);
        }
    }
}
