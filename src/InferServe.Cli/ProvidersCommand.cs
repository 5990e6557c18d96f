using System.CommandLine;
using InferServe.Backend;

namespace InferServe.Cli;

/// <summary>`inferserve providers`: the execution providers the loaded ONNX Runtime lists.</summary>
public static class ProvidersCommand
{
    public static Command Create()
    {
        var command = new Command("providers", "List the execution providers of the loaded ONNX Runtime");
        command.SetAction(_ =>
        {
            foreach (var p in OrtBackend.AvailableProviders()) Console.WriteLine(p);
            return 0;
        });
        return command;
    }
}
