using InferServe.Engine.Hosting;

using InferServe.Server;

namespace InferServe.TestSupport.Server;

/// <summary>A test server's settings: the server's, plus the local engine it loads (the CLI composes the same two).</summary>
public sealed class TestSettings : ServerSettings
{
    public EngineSettings Engine { get; set; } = new();
}
