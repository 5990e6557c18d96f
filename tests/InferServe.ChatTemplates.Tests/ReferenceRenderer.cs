using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using InferServe.TestSupport;

namespace InferServe.ChatTemplates.Tests;

/// <summary>
/// Runs the reference implementation (npm @huggingface/jinja, pinned by scripts/ci/setup-jinja-reference.sh)
/// on a batch of cases through reference/render.mjs. When it is missing, the setup script is run once;
/// if that fails the parity tests skip, except under CI=true where they fail.
/// </summary>
internal static class ReferenceRenderer
{
    public const string PinnedVersion = "0.5.11";

    public sealed record Case(string Id, string Template, JsonObject Context);

    public sealed record Result(string? Output, string? Error);

    private static readonly Lazy<(string? PackageDir, string? Problem)> Install = new(EnsureInstalled);

    public static string PackageDir => Path.Combine(RepoPaths.Root, ".deps", "node-jinja", "node_modules", "@huggingface", "jinja");

    /// <summary>Skips (locally) or fails (CI=true) when the reference cannot be made available.</summary>
    public static void RequireAvailable()
    {
        var (dir, problem) = Install.Value;
        if (dir is not null) return;
        string message = $"Reference @huggingface/jinja@{PinnedVersion} unavailable: {problem}";
        Requirements.Missing(message);
    }

    public static IReadOnlyDictionary<string, Result> RenderAll(IEnumerable<Case> cases)
    {
        RequireAvailable();
        var array = new JsonArray();
        foreach (var c in cases)
            array.Add(new JsonObject { ["id"] = c.Id, ["template"] = c.Template, ["context"] = c.Context.DeepClone() });
        string casesPath = Path.Combine(Path.GetTempPath(), $"chat-template-cases-{Guid.NewGuid():N}.json");
        File.WriteAllText(casesPath, array.ToJsonString(), new UTF8Encoding(false));
        try
        {
            var (exit, stdout, stderr) = Run("node", [Path.Combine(RepoPaths.TestDir, "reference", "render.mjs"), casesPath, PackageDir]);
            if (exit != 0) throw new InvalidOperationException($"reference renderer failed ({exit}): {stderr}");
            var doc = JsonNode.Parse(stdout)!.AsObject();
            Assert.Equal(PinnedVersion, (string?)doc["version"]);
            return doc["results"]!.AsArray().ToDictionary(
                r => (string)r!["id"]!,
                r => new Result((string?)r!["output"], (string?)r!["error"]));
        }
        finally
        {
            File.Delete(casesPath);
        }
    }

    private static (string? PackageDir, string? Problem) EnsureInstalled()
    {
        if (IsInstalled()) return (PackageDir, null);
        try
        {
            var (exit, stdout, stderr) = Run("bash", [Path.Combine(RepoPaths.Root, "scripts", "ci", "setup-jinja-reference.sh")]);
            if (exit == 0 && IsInstalled()) return (PackageDir, null);
            return (null, $"setup script exited {exit}: {stderr}{stdout}".Trim());
        }
        catch (Exception ex)
        {
            return (null, ex.Message);
        }
    }

    private static bool IsInstalled()
    {
        string pkg = Path.Combine(PackageDir, "package.json");
        if (!File.Exists(pkg)) return false;
        using var doc = JsonDocument.Parse(File.ReadAllText(pkg));
        return doc.RootElement.GetProperty("version").GetString() == PinnedVersion;
    }

    private static (int Exit, string Stdout, string Stderr) Run(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stderrTask = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} timed out");
        }
        return (process.ExitCode, stdout, stderrTask.Result);
    }
}
