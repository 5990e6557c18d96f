using Microsoft.ML.OnnxRuntime;

namespace InferServe.Backend;

/// <summary>
/// One ONNX graph in an ORT session, with inputs and outputs bound once to <see cref="NativeTensor"/>s.
/// A run only rebinds when the row count changes, so steady-state decode costs one native call.
/// </summary>
public sealed class OrtGraph : IDisposable
{
    private readonly InferenceSession _session;
    private readonly OrtIoBinding _binding;
    private readonly RunOptions _runOptions = new();
    private readonly List<(string Name, NativeTensor Tensor, bool IsInput, bool Vector)> _bound = [];
    private int _boundRows = -1;

    public string Name { get; }

    internal OrtGraph(string name, InferenceSession session)
    {
        Name = name;
        _session = session;
        _binding = session.CreateIoBinding();
    }

    public IReadOnlyList<string> InputNames => _session.InputNames;
    public IReadOnlyList<string> OutputNames => _session.OutputNames;

    public OrtGraph BindInput(string name, NativeTensor tensor, bool vector = false) => Bind(name, tensor, true, vector);
    public OrtGraph BindOutput(string name, NativeTensor tensor) => Bind(name, tensor, false, false);

    private OrtGraph Bind(string name, NativeTensor tensor, bool isInput, bool vector)
    {
        var names = isInput ? _session.InputNames : _session.OutputNames;
        if (!names.Contains(name)) throw new BackendException($"Graph '{Name}' has no {(isInput ? "input" : "output")} '{name}'.");
        _bound.Add((name, tensor, isInput, vector));
        _boundRows = -1;
        return this;
    }

    /// <summary>Runs the graph over the first <paramref name="rows"/> rows of every bound tensor.</summary>
    public void Run(int rows)
    {
        if (rows != _boundRows)
        {
            foreach (var (name, tensor, isInput, vector) in _bound)
            {
                if (isInput) _binding.BindInput(name, tensor.View(rows, vector));
                else _binding.BindOutput(name, tensor.View(rows));
            }
            _boundRows = rows;
        }
        _session.RunWithBinding(_runOptions, _binding);
    }

    public void Dispose()
    {
        _binding.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
    }
}
