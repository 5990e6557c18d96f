namespace InferServe.Onnx;

/// <summary>Weights quantized in the layout of com.microsoft MatMulNBits.</summary>
/// <param name="Packed">[N, blocksPerRow, blockSize*bits/8]; 4-bit values pack two per byte, low nibble first.</param>
/// <param name="Scales">[N, blocksPerRow] fp32.</param>
/// <param name="ZeroPoints">[N, ceil(blocksPerRow*bits/8)] uint8; 4-bit zero points pack two per byte, low nibble first.</param>
public sealed record QuantizedMatrix(int N, int K, int Bits, int BlockSize, byte[] Packed, float[] Scales, byte[] ZeroPoints)
{
    public int BlocksPerRow => (K + BlockSize - 1) / BlockSize;
}

/// <summary>Asymmetric min/max block quantization along K (the input dimension) of a [N, K] weight.</summary>
public static class BlockQuantizer
{
    public static QuantizedMatrix Quantize(ReadOnlySpan<float> weight, int n, int k, int bits, int blockSize)
    {
        if (bits is not (4 or 8)) throw new ArgumentOutOfRangeException(nameof(bits), "Only 4- and 8-bit weights are supported.");
        if (blockSize < 16 || (blockSize & (blockSize - 1)) != 0) throw new ArgumentOutOfRangeException(nameof(blockSize), "Block size must be a power of two >= 16.");
        if (weight.Length != (long)n * k) throw new ArgumentException($"Weight has {weight.Length} values, expected {n}x{k}.");
        int blocks = (k + blockSize - 1) / blockSize;
        int blobSize = blockSize * bits / 8;
        int zpPerRow = (blocks * bits + 7) / 8;
        var packed = new byte[(long)n * blocks * blobSize];
        var scales = new float[(long)n * blocks];
        var zeros = new byte[(long)n * zpPerRow];
        int qmax = (1 << bits) - 1;
        var w = weight.ToArray();

        Parallel.For(0, n, row =>
        {
            Span<byte> q = stackalloc byte[blockSize];
            for (int b = 0; b < blocks; b++)
            {
                int start = b * blockSize, len = Math.Min(blockSize, k - start);
                var block = w.AsSpan(row * k + start, len);
                float min = 0, max = 0; // include 0 so padding (and zero weights) stay exact
                foreach (var v in block)
                {
                    min = Math.Min(min, v);
                    max = Math.Max(max, v);
                }
                float scale = (max - min) / qmax;
                int zp = scale == 0 ? 0 : Math.Clamp((int)MathF.Round(-min / scale), 0, qmax);
                float inv = scale == 0 ? 0 : 1f / scale;
                q.Clear();
                for (int i = 0; i < blockSize; i++)
                    q[i] = i < len ? (byte)Math.Clamp((int)MathF.Round(block[i] * inv) + zp, 0, qmax) : (byte)zp;

                long blockIndex = (long)row * blocks + b;
                scales[blockIndex] = scale;
                var blob = packed.AsSpan((int)(blockIndex * blobSize), blobSize);
                if (bits == 8)
                {
                    q.CopyTo(blob);
                    zeros[row * zpPerRow + b] = (byte)zp;
                }
                else
                {
                    for (int i = 0; i < blobSize; i++) blob[i] = (byte)(q[2 * i] | (q[2 * i + 1] << 4));
                    ref byte z = ref zeros[row * zpPerRow + b / 2];
                    z = (b & 1) == 0 ? (byte)((z & 0xF0) | zp) : (byte)((z & 0x0F) | (zp << 4));
                }
            }
        });
        return new QuantizedMatrix(n, k, bits, blockSize, packed, scales, zeros);
    }

    /// <summary>The fp32 weight the quantized matrix represents (for tests and reference checks).</summary>
    public static float[] Dequantize(QuantizedMatrix m)
    {
        var result = new float[(long)m.N * m.K];
        int blobSize = m.BlockSize * m.Bits / 8, zpPerRow = (m.BlocksPerRow * m.Bits + 7) / 8;
        for (int row = 0; row < m.N; row++)
        {
            for (int b = 0; b < m.BlocksPerRow; b++)
            {
                long bi = (long)row * m.BlocksPerRow + b;
                float scale = m.Scales[bi];
                int zp = m.Bits == 8 ? m.ZeroPoints[row * zpPerRow + b] : (m.ZeroPoints[row * zpPerRow + b / 2] >> ((b & 1) * 4)) & 0xF;
                for (int i = 0; i < m.BlockSize && b * m.BlockSize + i < m.K; i++)
                {
                    int q = m.Bits == 8 ? m.Packed[bi * blobSize + i] : (m.Packed[bi * blobSize + i / 2] >> ((i & 1) * 4)) & 0xF;
                    result[(long)row * m.K + b * m.BlockSize + i] = (q - zp) * scale;
                }
            }
        }

        return result;
    }
}
