using System.Reflection;
using System.Text.Json;
using System.Xml.Linq;
using InferServe.TestSupport;

namespace InferServe.Router.Tests;

/// <summary>
/// The gateway (<c>--role gateway</c>) routes to workers and never loads weights, so none of its assemblies may pull in the
/// engine or ONNX Runtime. Checked three ways, each catching what the others miss: the project files' references
/// (what the build links), the built assemblies' references (what the code uses) and the libraries' deps.json (what
/// the gateway's closure would ship and load).
/// </summary>
public sealed class GatewayDependencyTests
{
    private static readonly string[] GatewayAssemblies =
    [
        "InferServe.Server", "InferServe.Api.Grpc", "InferServe.Router", "InferServe.Transport", "InferServe.Contracts", "InferServe.Metrics",
    ];

    private static readonly string[] Forbidden = ["InferServe.Engine", "InferServe.Backend", "InferServe.Onnx", "Microsoft.ML.OnnxRuntime"];

    private static bool IsForbidden(string name) =>
        Forbidden.Any(f => name.Equals(f, StringComparison.OrdinalIgnoreCase) || name.StartsWith(f + ".", StringComparison.OrdinalIgnoreCase));

    [Fact(Timeout = 30_000)]
    public void No_gateway_project_references_the_engine_or_onnx_runtime_even_transitively()
    {
        var src = Path.Combine(TestPaths.RepoRoot, "src");
        var offenders = new List<string>();
        foreach (var project in GatewayAssemblies)
            Walk(Path.Combine(src, project, project + ".csproj"), [project], new HashSet<string>(StringComparer.OrdinalIgnoreCase), offenders);
        Assert.True(offenders.Count == 0, "The gateway's projects reach the engine or ONNX Runtime:\n" + string.Join("\n", offenders));
    }

    [Fact(Timeout = 30_000)]
    public void No_gateway_assembly_references_the_engine_or_onnx_runtime_even_transitively()
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var offenders = new List<string>();
        var pending = new Stack<(AssemblyName Name, string Path)>(GatewayAssemblies.Select(a => (new AssemblyName(a), a)));
        while (pending.Count > 0)
        {
            var (name, path) = pending.Pop();
            if (!seen.Add(name.Name!)) continue;
            if (IsForbidden(name.Name!)) { offenders.Add(path); continue; }
            // Framework and package assemblies that are not here are not ours to walk (and cannot reach ours).
            Assembly assembly;
            try { assembly = Assembly.Load(name); }
            catch (FileNotFoundException) { continue; }
            foreach (var reference in assembly.GetReferencedAssemblies()) pending.Push((reference, path + " -> " + reference.Name));
        }
        Assert.True(seen.Contains("InferServe.Contracts"), "The walk never reached InferServe.Contracts; it checks nothing.");
        Assert.True(offenders.Count == 0, "The gateway's assemblies reference the engine or ONNX Runtime:\n" + string.Join("\n", offenders));
    }

    [Fact(Timeout = 30_000)]
    public void The_gateways_dependency_closure_ships_no_engine_or_onnx_runtime()
    {
        // Each gateway library's own deps.json, built beside it in the configuration this test runs, is its closure:
        // projects and packages alike.
        var build = Path.GetRelativePath(Path.Combine(AppContext.BaseDirectory, "..", "..", ".."), AppContext.BaseDirectory);
        var offenders = new List<string>();
        foreach (var project in GatewayAssemblies)
        {
            var depsFile = Path.Combine(TestPaths.RepoRoot, "src", project, build, project + ".deps.json");
            using var deps = JsonDocument.Parse(File.ReadAllText(depsFile));
            var libraries = deps.RootElement.GetProperty("libraries").EnumerateObject().Select(l => l.Name.Split('/')[0]).ToList();
            Assert.Contains(libraries, l => l == project);
            offenders.AddRange(libraries.Where(IsForbidden).Select(l => $"{project}.deps.json lists {l}"));
        }
        Assert.True(offenders.Count == 0, string.Join("\n", offenders));
    }

    private static void Walk(string csproj, List<string> path, HashSet<string> seen, List<string> offenders)
    {
        var name = Path.GetFileNameWithoutExtension(csproj);
        if (!seen.Add(name)) return;
        var project = XDocument.Load(csproj);
        foreach (var package in project.Descendants("PackageReference").Select(p => (string?)p.Attribute("Include")).OfType<string>().Where(IsForbidden))
            offenders.Add(string.Join(" -> ", path) + " -> package " + package);
        foreach (var include in project.Descendants("ProjectReference").Select(p => (string?)p.Attribute("Include")).OfType<string>())
        {
            var target = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(csproj)!, include));
            var targetName = Path.GetFileNameWithoutExtension(target);
            if (IsForbidden(targetName)) offenders.Add(string.Join(" -> ", path) + " -> " + targetName);
            else Walk(target, [.. path, targetName], seen, offenders);
        }
    }
}
