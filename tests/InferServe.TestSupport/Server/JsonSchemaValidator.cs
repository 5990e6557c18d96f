using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace InferServe.TestSupport.Server;

/// <summary>Validates outputs against JSON schemas with a real, independent peer: /usr/bin/python3 with python3-jsonschema.</summary>
public static class JsonSchemaValidator
{
    private const string Python = "/usr/bin/python3";

    /// <summary>Skips the test with a message when the peer is missing (scripts/ci/setup-jsonschema.sh installs it).</summary>
    public static void RequirePeer()
    {
        if (!File.Exists(Python)) Assert.Skip("/usr/bin/python3 is missing (scripts/ci/setup-jsonschema.sh).");
        using var p = Process.Start(new ProcessStartInfo(Python, ["-c", "import jsonschema"]) { RedirectStandardError = true })!;
        p.WaitForExit(30_000);
        if (p.ExitCode != 0) Assert.Skip("python3-jsonschema is not installed (run scripts/ci/setup-jsonschema.sh).");
    }

    /// <summary>Per case: null when the output parses and validates, else the validator's reason.</summary>
    public static async Task<List<string?>> ValidateAsync(IReadOnlyList<(string Schema, string Output)> cases)
    {
        var script = Path.Combine(TestPaths.RepoRoot, "tests", "InferServe.TestSupport", "python", "validate_outputs.py");
        var psi = new ProcessStartInfo(Python, [script]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        foreach (var (schema, output) in cases)
            await p.StandardInput.WriteLineAsync(new JsonObject { ["schema"] = JsonNode.Parse(schema), ["output"] = output }.ToJsonString());
        p.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await p.WaitForExitAsync(timeout.Token);
        Assert.True(p.ExitCode == 0, "validator failed: " + await stderr);
        var lines = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(cases.Count, lines.Length);
        return [.. lines.Select(l => JsonSerializer.Deserialize<string?>(l))];
    }
}
