using Microsoft.ML.OnnxRuntime;

namespace InferServe.Backend;

/// <summary>Which row count of a run a bound tensor takes: the batch's, the selected rows' (logits), or all of its own.</summary>
public enum BoundRows { Batch, Selected, Whole }

/// <summary>
/// One ONNX graph in an ORT session, with inputs and outputs bound to <see cref="NativeTensor"/>s.
/// On the CPU a run only rebinds when the row count changes, so steady-state decode costs one native call; a device
/// that copies inputs when they are bound gets them bound again before every run (<see cref="InputStaging"/>).
/// Outputs are written back to the host buffers by every run on any device.
/// </summary>
public sealed class OrtGraph : IDisposable
{
    private readonly InferenceSession _session;
    private readonly OrtIoBinding _binding;
    private readonly RunOptions _runOptions = new();
    private readonly List<(string Name, NativeTensor Tensor, bool IsInput, bool Vector, BoundRows Rows)> _bound = [];
    private (int Batch, int Selected) _boundRows = (-1, -1);

    public string Name { get; }
    public InputStaging Staging { get; }

    /// <summary>How many times an input has been bound: a test's window on the binding rule.</summary>
    public long InputBindings { get; private set; }

    internal OrtGraph(string name, InferenceSession session, InputStaging staging)
    {
        Name = name;
        Staging = staging;
        _session = session;
        _binding = session.CreateIoBinding();
    }

    public IReadOnlyList<string> InputNames => _session.InputNames;
    public IReadOnlyList<string> OutputNames => _session.OutputNames;

    public OrtGraph BindInput(string name, NativeTensor tensor, bool vector = false, BoundRows rows = BoundRows.Batch) => Bind(name, tensor, true, vector, rows);
    public OrtGraph BindOutput(string name, NativeTensor tensor, BoundRows rows = BoundRows.Batch) => Bind(name, tensor, false, false, rows);

    private OrtGraph Bind(string name, NativeTensor tensor, bool isInput, bool vector, BoundRows rows)
    {
        var names = isInput ? _session.InputNames : _session.OutputNames;
        if (!names.Contains(name)) throw new BackendException($"Graph '{Name}' has no {(isInput ? "input" : "output")} '{name}'.");
        _bound.Add((name, tensor, isInput, vector, rows));
        _boundRows = (-1, -1);
        return this;
    }

    /// <summary>Runs the graph over the first <paramref name="rows"/> rows of every bound tensor.</summary>
    public void Run(int rows) => Run(rows, rows);

    /// <summary>Runs the graph over the first <paramref name="rows"/> rows of batch tensors and <paramref name="selected"/> of selected-row tensors.</summary>
    public void Run(int rows, int selected)
    {
        if ((rows, selected) != _boundRows)
        {
            foreach (var (name, tensor, isInput, vector, which) in _bound)
            {
                int n = RowsOf(which, tensor, rows, selected);
                if (isInput) BindInputView(name, tensor, n, vector);
                else _binding.BindOutput(name, tensor.View(n));
            }
            _boundRows = (rows, selected);
        }
        else if (Staging == InputStaging.CopyAtBind)
        {
            // The device holds a copy taken at the last bind: hand it this step's host data.
            foreach (var (name, tensor, isInput, vector, which) in _bound)
                if (isInput) BindInputView(name, tensor, RowsOf(which, tensor, rows, selected), vector);
        }
        _session.RunWithBinding(_runOptions, _binding);
    }

    private static int RowsOf(BoundRows which, NativeTensor tensor, int rows, int selected) => which switch
    {
        BoundRows.Selected => selected,
        BoundRows.Whole => tensor.MaxRows,
        _ => rows,
    };

    private void BindInputView(string name, NativeTensor tensor, int rows, bool vector)
    {
        _binding.BindInput(name, tensor.View(rows, vector));
        InputBindings++;
    }

    public void Dispose()
    {
        _binding.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
    }
}
