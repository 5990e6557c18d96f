using System.CommandLine;
using System.CommandLine.Invocation;
using InferServe.Backend;
using InferServe.Cli;
using InferServe.Models;

// System.CommandLine parses; --help/-h (every command), --version and the [suggest] completion directive are built in.
var root = new RootCommand("inferserve — an LLM inference server (ONNX Runtime + paged KV cache). README.md documents every command.")
{
    ServeCommand.Create(), GenerateCommand.Create(), HubModels.PullCommand(), BenchCommand.Create(), BenchAttentionCommand.Create(),
    BenchDenseCommand.Create(), BenchServeCommand.Create(), QualityCommand.Create(), MakeModelCommand.Create(), ConvertCommand.Create(),
    ProvidersCommand.Create(), HealthcheckCommand.Create(),
};
// Bare `inferserve` lists the commands, as --help does.
root.SetAction(p => root.Parse(["--help"]).Invoke());

var parse = root.Parse(args);
if (parse.Action is ParseErrorAction)
{
    // One line naming the option (unknown options included), exit 2: scripts and tests read the first error line.
    Console.Error.WriteLine($"error: {string.Join(" ", parse.Errors.Select(e => e.Message))}");
    return 2;
}
try
{
    // Our own handlers: UsageException is exit 2, load failures exit 1, both one line; SIGTERM is the host's (graceful drain).
    return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null });
}
catch (UsageException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
catch (Exception e) when (e is InferServe.Hub.HubException or InferServe.Server.Security.CredentialException or ModelLoadException or BackendException or ArgumentException or InvalidOperationException or IOException
                           or InferServe.Tokenization.TokenizerLoadException or InferServe.Contracts.InvalidRequestException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}
