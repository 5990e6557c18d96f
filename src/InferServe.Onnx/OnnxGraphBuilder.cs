using Google.Protobuf;
using InferServe.Onnx.Proto;

namespace InferServe.Onnx;

/// <summary>A small fluent writer of ONNX graphs: inputs, outputs, initializers and nodes.</summary>
public sealed class OnnxGraphBuilder(string name)
{
    public const int OnnxOpset = 21;
    public const int MicrosoftOpset = 1;
    public const string MicrosoftDomain = "com.microsoft";
    private readonly GraphProto _graph = new() { Name = name };
    private int _nodeCounter;
    private Stream? _externalData;
    private string? _externalLocation;

    /// <summary>Initializers of at least this many bytes go to the external data file, when there is one.</summary>
    public const int ExternalMinBytes = 1024;

    /// <summary>
    /// Writes large initializers to <paramref name="data"/> as they are added (ONNX external data, found by ORT at
    /// <paramref name="location"/> beside the model file) instead of into the model: a whole-model graph stays under
    /// protobuf's 2 GB limit, and the builder never holds every weight at once.
    /// </summary>
    public OnnxGraphBuilder WithExternalData(Stream data, string location)
    {
        (_externalData, _externalLocation) = (data, location);
        return this;
    }

    public OnnxGraphBuilder Input(string inputName, TensorProto.Types.DataType type, params object[] dims)
    {
        _graph.Input.Add(ValueInfo(inputName, type, dims));
        return this;
    }

    public OnnxGraphBuilder Output(string outputName, TensorProto.Types.DataType type, params object[] dims)
    {
        _graph.Output.Add(ValueInfo(outputName, type, dims));
        return this;
    }

    public string Initializer(string tensorName, ReadOnlySpan<float> data, params long[] dims)
    {
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(data);
        return Initializer(tensorName, TensorProto.Types.DataType.Float, bytes, dims);
    }

    public string Initializer(string tensorName, TensorProto.Types.DataType type, ReadOnlySpan<byte> raw, params long[] dims)
    {
        var t = new TensorProto { Name = tensorName, DataType = (int)type };
        if (_externalData is not null && raw.Length >= ExternalMinBytes)
        {
            // 64-byte aligned offsets: ORT may map the file and hand the bytes to kernels as they lie.
            long offset = (_externalData.Position + 63) & ~63L;
            while (_externalData.Position < offset) _externalData.WriteByte(0);
            _externalData.Write(raw);
            t.DataLocation = TensorProto.Types.DataLocation.External;
            t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = _externalLocation });
            t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = raw.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }
        else
        {
            t.RawData = ByteString.CopyFrom(raw);
        }
        t.Dims.AddRange(dims);
        _graph.Initializer.Add(t);
        return tensorName;
    }

    public string Int64Initializer(string tensorName, params long[] values)
    {
        var t = new TensorProto { Name = tensorName, DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.Add(values.Length);
        t.Int64Data.AddRange(values);
        _graph.Initializer.Add(t);
        return tensorName;
    }

    /// <summary>Adds a node; returns its first output name. Attributes are (name, value) pairs of long, float, string or long[].</summary>
    public string Node(string opType, string[] inputs, string[] outputs, string domain = "", params (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = $"{opType}_{_nodeCounter++}", Domain = domain };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        foreach (var (attrName, value) in attributes) node.Attribute.Add(Attribute(attrName, value));
        _graph.Node.Add(node);
        return outputs[0];
    }

    public ModelProto Build(string producer = "InferServe", params string[] extraDomains)
    {
        var model = new ModelProto { IrVersion = 10, ProducerName = producer, Graph = _graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OnnxOpset });
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = MicrosoftOpset });
        foreach (var domain in extraDomains) model.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = 1 });
        return model;
    }

    private static AttributeProto Attribute(string name, object value) => value switch
    {
        int i => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = i },
        long l => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = l },
        float f => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = f },
        string s => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(s) },
        long[] ls => WithInts(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints }, ls),
        _ => throw new ArgumentException($"Unsupported attribute type {value.GetType()} for '{name}'."),
    };

    private static AttributeProto WithInts(AttributeProto a, long[] values)
    {
        a.Ints.AddRange(values);
        return a;
    }

    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            shape.Dim.Add(d switch
            {
                string s => new TensorShapeProto.Types.Dimension { DimParam = s },
                int i => new TensorShapeProto.Types.Dimension { DimValue = i },
                long l => new TensorShapeProto.Types.Dimension { DimValue = l },
                _ => throw new ArgumentException($"Bad dimension {d}."),
            });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }
}
