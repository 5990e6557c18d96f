using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace InferServe.Backend;

/// <summary>
/// A preallocated, 64-byte aligned host buffer of [maxRows, width] elements that graphs read and
/// write in place. ORT views of its first `rows` rows are created once per distinct row count and
/// reused, so steady-state steps create no OrtValues.
/// </summary>
public sealed unsafe class NativeTensor : IDisposable
{
    private readonly void* _data;
    private readonly OrtValue?[] _views;
    private readonly int _elementSize;

    public int MaxRows { get; }
    public int Width { get; }
    public TensorElementType ElementType { get; }

    public NativeTensor(int maxRows, int width, TensorElementType type = TensorElementType.Float)
    {
        if (maxRows <= 0 || width <= 0) throw new ArgumentOutOfRangeException(nameof(maxRows));
        MaxRows = maxRows;
        Width = width;
        ElementType = type;
        _elementSize = type switch
        {
            TensorElementType.Float or TensorElementType.Int32 => 4,
            TensorElementType.Int64 => 8,
            TensorElementType.Float16 => 2,
            _ => throw new ArgumentException($"Unsupported element type {type}."),
        };
        nuint bytes = (nuint)((long)maxRows * width * _elementSize);
        _data = NativeMemory.AlignedAlloc(bytes, 64);
        NativeMemory.Clear(_data, bytes);
        _views = new OrtValue?[maxRows + 1];
    }

    public IntPtr Pointer => (IntPtr)_data;

    public Span<T> Rows<T>(int rows) where T : unmanaged
    {
        if ((uint)rows > (uint)MaxRows) throw new ArgumentOutOfRangeException(nameof(rows), $"{rows} rows exceed the buffer's {MaxRows}.");
        return new Span<T>(_data, rows * Width * _elementSize / sizeof(T));
    }

    public Span<float> Floats(int rows) => Rows<float>(rows);

    public Span<float> Row(int row) => new((float*)_data + (long)row * Width, Width);

    /// <summary>An ORT tensor of shape [rows, width] (or [rows] for width 1 when <paramref name="vector"/>) over this buffer.</summary>
    public OrtValue View(int rows, bool vector = false)
    {
        if (rows <= 0 || rows > MaxRows) throw new ArgumentOutOfRangeException(nameof(rows), $"{rows} rows exceed the buffer's {MaxRows}.");
        return _views[rows] ??= OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, ElementType,
            vector ? [rows] : [rows, Width], (IntPtr)_data, (long)rows * Width * _elementSize);
    }

    public void Dispose()
    {
        foreach (var v in _views) v?.Dispose();
        NativeMemory.AlignedFree(_data);
    }
}
