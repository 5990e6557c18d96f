using InferServe.Engine.Kv;

namespace InferServe.Engine.Tests;

/// <summary>Quantized KV blocks must pay for themselves: bytes per token come from the storage's own allocation.</summary>
public class KvCacheMemoryTests
{
    // SmolLM2-135M's attention shape: 30 layers, 3 KV heads of 64 channels.
    private static KvCacheSpec Spec(KvDType dtype) => new(NumLayers: 30, NumKvHeads: 3, HeadDim: 64, BlockSize: 16, DType: dtype);

    private static double BytesPerToken(KvDType dtype)
    {
        const int blocks = 8;
        using var storage = KvStorage.Create(Spec(dtype), blocks);
        return (double)storage.TotalBytes / (blocks * storage.Spec.BlockSize);
    }

    [Theory]
    [InlineData(KvDType.Fp16, 0.50)]
    [InlineData(KvDType.Int8, 0.27)]
    [InlineData(KvDType.Int4, 0.16)]
    public void QuantizedBlocksIncludingScalesFitTheirBudgetRelativeToFp32(KvDType dtype, double maxRatio)
    {
        double ratio = BytesPerToken(dtype) / BytesPerToken(KvDType.Fp32);
        Assert.True(ratio <= maxRatio, $"{dtype}: {ratio:F3} x fp32 exceeds {maxRatio}");
    }

    [Theory]
    [InlineData(KvDType.Fp32)]
    [InlineData(KvDType.Fp16)]
    [InlineData(KvDType.Int8)]
    [InlineData(KvDType.Int4)]
    public void TheSpecPredictsWhatTheStorageAllocates(KvDType dtype)
    {
        var spec = Spec(dtype);
        Assert.Equal(spec.BytesPerTokenPerLayer * spec.NumLayers, BytesPerToken(dtype));
    }

    [Fact]
    public void ThePoolIsResidentFromCreationSoServingTakesNoFirstTouchPageFaults()
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        process.Refresh();
        long before = process.WorkingSet64;
        using var storage = KvStorage.Create(Spec(KvDType.Int8), 1024); // about 188 MiB
        process.Refresh();
        long grown = process.WorkingSet64 - before;
        Assert.True(grown >= storage.TotalBytes * 3 / 4, $"resident memory grew {grown >> 20} MiB for a {storage.TotalBytes >> 20} MiB pool");
    }
}
