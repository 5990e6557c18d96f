using InferServe.Engine.Hosting;

namespace InferServe.Server.Tests.Support;

/// <summary>A test server's settings: the server's, plus the local engine it loads (the CLI composes the same two).</summary>
public sealed class TestSettings : ServerSettings
{
    public EngineSettings Engine { get; set; } = new();
}
