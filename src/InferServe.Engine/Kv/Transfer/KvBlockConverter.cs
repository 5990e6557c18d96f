namespace InferServe.Engine.Kv.Transfer;

/// <summary>
/// Re-encodes KV blocks that arrive in another worker's dtype (wire order, as that worker stores them) into
/// this worker's blocks, once, on import: a prefill worker on fp16 can hand its KV to a decode worker on int8.
/// Each block passes through a one-block scratch cache of the source dtype, is decoded to fp32 (rotated
/// int8 heads rotated back) and written through the target's own encoder, as if this worker had computed it.
/// </summary>
public sealed class KvBlockConverter : IDisposable
{
    private readonly KvStorage _scratch;
    private readonly KvBlockSpans _scratchBlock;
    private readonly float[] _keys, _values, _k, _v;

    public KvBlockConverter(KvCacheSpec target, KvDType source)
    {
        var spec = target with { DType = source };
        _scratch = KvStorage.Create(spec, 1);
        _scratchBlock = new KvBlockSpans(_scratch, [0]);
        int headFloats = spec.BlockSize * spec.HeadDim;
        _keys = new float[headFloats];
        _values = new float[headFloats];
        // One token's K and V for all heads, per slot of the block.
        _k = new float[spec.BlockSize * spec.NumKvHeads * spec.HeadDim];
        _v = new float[_k.Length];
    }

    public KvDType Source => _scratch.Spec.DType;

    /// <summary>Bytes of one whole block in the source dtype, in wire order.</summary>
    public int SourceBlockBytes => _scratchBlock.BlockBytes;

    /// <summary>Converts whole source blocks into <paramref name="target"/>'s blocks from <paramref name="first"/> on.</summary>
    public void Write(KvBlockSpans target, int first, ReadOnlySpan<byte> source)
    {
        if (source.Length % SourceBlockBytes != 0)
            throw new InvalidDataException($"A {Source.ToString().ToLowerInvariant()} KV chunk of {source.Length} bytes is not a whole number of {SourceBlockBytes}-byte blocks.");
        int count = source.Length / SourceBlockBytes;
        if (first < 0 || first + count > target.BlockCount)
            throw new InvalidDataException($"KV blocks [{first}, {first + count}) fall outside the {target.BlockCount} reserved.");
        for (int i = 0; i < count; i++)
        {
            _scratchBlock.Write(0, source.Slice(i * SourceBlockBytes, SourceBlockBytes));
            for (int layer = 0; layer < _scratch.Spec.NumLayers; layer++)
                ConvertLayer(layer, target, first + i);
        }
    }

    private void ConvertLayer(int layer, KvBlockSpans target, int targetIndex)
    {
        var spec = _scratch.Spec;
        int d = spec.HeadDim, bs = spec.BlockSize, kvDim = spec.NumKvHeads * d;
        for (int h = 0; h < spec.NumKvHeads; h++)
        {
            _scratch.DequantizeKeys(layer, 0, h, _keys);
            _scratch.DequantizeValues(layer, 0, h, bs, _values);
            for (int slot = 0; slot < bs; slot++)
            {
                var k = _k.AsSpan(slot * kvDim + h * d, d);
                for (int c = 0; c < d; c++) k[c] = _keys[c * bs + slot];
                var v = _v.AsSpan(slot * kvDim + h * d, d);
                _values.AsSpan(slot * d, d).CopyTo(v);
                if (_scratch.Rotated)
                {
                    // The normalized transform is its own inverse.
                    Hadamard.Transform(k);
                    Hadamard.Transform(v);
                }
            }
        }
        for (int slot = 0; slot < bs; slot++)
            target.WriteToken(targetIndex, layer, slot, _k.AsSpan(slot * kvDim, kvDim), _v.AsSpan(slot * kvDim, kvDim));
    }

    public void Dispose() => _scratch.Dispose();
}
