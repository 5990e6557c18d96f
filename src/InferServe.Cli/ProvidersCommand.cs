using System.CommandLine;
using InferServe.Backend;
using InferServe.Cli.Options;

namespace InferServe.Cli;

/// <summary>`inferserve providers`: the execution providers the loaded ONNX Runtime lists.</summary>
public static class ProvidersCommand
{
    public static Command Create() => Opt.Command("providers", "List the execution providers of the loaded ONNX Runtime", [], _ =>
    {
        foreach (var p in OrtBackend.AvailableProviders()) Console.WriteLine(p);
        return 0;
    });
}
