using InferServe.Engine.Hosting;
using InferServe.Server;
using Microsoft.Extensions.Configuration;

namespace InferServe.Cli;

/// <summary>
/// What `serve` composes: the server's settings and the engine's, bound from the same flat "InferServe" section.
/// The engine's live here, at the composition root, so the server assembly never references the engine.
/// </summary>
public sealed class ServeSettings : ServerSettings
{
    public EngineSettings Engine { get; set; } = new();

    public static new ServeSettings FromConfiguration(IConfiguration configuration)
    {
        var s = Bind(new ServeSettings(), configuration);
        s.Engine = new EngineSettings();
        configuration.GetSection(SectionName).Bind(s.Engine);
        return s;
    }
}
