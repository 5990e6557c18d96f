using System.Collections.Concurrent;
using System.Net;
using InferServe.Server.Security;
using InferServe.TestSupport;
using InferServe.TestSupport.Server;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace InferServe.Server.Tests;

public sealed class SettingsTests
{
    [Fact]
    public void The_flat_InferServe_section_binds_gateway_and_engine_settings()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["InferServe:Model"] = "/models/m",
            ["InferServe:MaxSeqs"] = "4",
            ["InferServe:KvCacheMemory"] = "1GiB",
            ["InferServe:Port"] = "9001",
            ["InferServe:GrpcPort"] = "0",
            ["InferServe:ServedModelName"] = "m",
            ["InferServe:ApiKeys:0"] = "k1",
            ["InferServe:ApiKeys:1"] = "k2:3",
            ["InferServe:MaxBodySize"] = "1MiB",
        }).Build();
        var s = ServerSettings.FromConfiguration(config);
        // The engine's settings come from the same flat section (the CLI binds both).
        var engine = new InferServe.Engine.Hosting.EngineSettings();
        config.GetSection(ServerSettings.SectionName).Bind(engine);
        Assert.Equal("/models/m", engine.Model);
        Assert.Equal(4, engine.MaxSeqs);
        Assert.Equal("1GiB", engine.KvCacheMemory);
        Assert.Equal(9001, s.Port);
        Assert.Equal(0, s.GrpcPort);
        Assert.Equal("m", s.ServedModelName);
        Assert.Equal(1 << 20, s.MaxBodyBytes);
        Assert.Contains(new ApiKeySpec("k2", 3), s.ResolveApiKeys());
    }

    [Fact]
    public void Defaults_are_loopback_8000_grpc_50051_and_4MiB_bodies()
    {
        var s = ServerSettings.FromConfiguration(new ConfigurationBuilder().Build());
        Assert.Equal("127.0.0.1", s.Host);
        Assert.Equal(8000, s.Port);
        Assert.Equal(50051, s.GrpcPort);
        Assert.Equal(4 << 20, s.MaxBodyBytes);
    }

    [Theory(Timeout = 10_000)]
    [InlineData("sk-abcdef:0", "must be a whole number of requests from 1")]
    [InlineData("sk-abcdef:99999999999", "must be a whole number of requests from 1")]
    [InlineData(" ", "an API key is empty")]
    public void A_bad_api_key_limit_is_one_clear_error_that_does_not_print_the_key(string spec, string message)
    {
        var e = Assert.Throws<CredentialException>(() => ApiKeySpec.Parse(spec, "--api-key"));
        Assert.Contains(message, e.Message);
        Assert.DoesNotContain("abcdef", e.Message);
    }

    [Fact(Timeout = 10_000)]
    public void The_same_key_with_two_limits_is_refused()
    {
        var e = Assert.Throws<CredentialException>(() => new ServerSettings { ApiKeys = ["sk-same-key:1", "sk-same-key:2"] }.ResolveApiKeys());
        Assert.Contains("given twice with different limits", e.Message);
    }

    [Fact]
    public void Api_key_file_contributes_one_key_per_line()
    {
        var file = Path.GetTempFileName();
        File.WriteAllLines(file, ["# comment", "", "  key-a  ", "key-b:2"]);
        try
        {
            var keys = new ServerSettings { ApiKeys = ["key-c"], ApiKeyFile = file }.ResolveApiKeys().Select(k => (k.Key, k.MaxConcurrent)).ToList();
            Assert.Contains(("key-a", (int?)null), keys);
            Assert.Contains(("key-b", (int?)2), keys);
            Assert.Contains(("key-c", (int?)null), keys);
            Assert.DoesNotContain(keys, k => k.Key.StartsWith('#'));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("/models/SmolLM2-135M-Instruct/", "SmolLM2-135M-Instruct")]
    [InlineData("/models/stories260K.bin", "stories260K")]
    public void Served_name_defaults_to_the_model_directory_or_file_name(string path, string expected)
    {
        if (path.EndsWith('/')) Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "served-name-test", Path.GetFileName(path.TrimEnd('/'))));
        var actual = ServerSettings.DefaultServedName(path.EndsWith('/') ? Path.Combine(Path.GetTempPath(), "served-name-test", Path.GetFileName(path.TrimEnd('/'))) + "/" : path);
        Assert.Equal(expected, actual);
    }
}

public sealed class LoggingTests
{
    private sealed class CapturingProvider : ILoggerProvider, ISupportExternalScope
    {
        public readonly ConcurrentQueue<(LogLevel Level, string Message, string Scopes)> Entries = new();
        private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();
        public ILogger CreateLogger(string categoryName) => new Logger(this);
        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;
        public void Dispose() { }

        private sealed class Logger(CapturingProvider p) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => p._scopes.Push(state);
            public bool IsEnabled(LogLevel logLevel) => true;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var scopes = new System.Text.StringBuilder();
                p._scopes.ForEachScope((s, sb) => sb.Append(s).Append(';'), scopes);
                p.Entries.Enqueue((logLevel, formatter(state, exception), scopes.ToString()));
            }
        }
    }

    [Fact]
    public async Task Info_logs_carry_the_request_id_but_never_the_prompt_text()
    {
        var capture = new CapturingProvider();
        await using var gw = await TestServer.StartAsync(hooks: new ServingHostHooks { ConfigureLogging = l => l.AddProvider(capture).SetMinimumLevel(LogLevel.Debug) });
        const string Secret = "my-secret-prompt-4711";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent($$"""{"messages":[{"role":"user","content":"{{Secret}}"}],"max_tokens":3}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Request-Id", "req-abc-123");
        var response = await gw.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("req-abc-123", response.Headers.GetValues("X-Request-Id").Single());
        Assert.Contains("chatcmpl-req-abc-123", await response.Content.ReadAsStringAsync());

        // The request's last log lines are written just after the response is sent.
        await Eventually.WaitUntilAsync(() => capture.Entries.Any(e => e.Scopes.Contains("req-abc-123") && e.Message.Contains("-> 200")), () => "the request's last log line");
        var mine = capture.Entries.Where(e => e.Scopes.Contains("req-abc-123")).ToList();
        Assert.True(mine.Any(e => e.Message.Contains("Finished")), string.Join("\n", capture.Entries.Select(e => $"{e.Level} [{e.Scopes}] {e.Message}")));
        Assert.DoesNotContain(capture.Entries, e => e.Message.Contains(Secret) || e.Scopes.Contains(Secret));
        // One short Information line per request: method, path, status, duration; the rest is Debug.
        var info = Assert.Single(mine, e => e.Level == LogLevel.Information);
        Assert.Matches(@"^POST /v1/chat/completions -> 200 in \d+\.\d ms$", info.Message);
    }

    [Fact(Timeout = 60_000)]
    public async Task Health_and_ready_probes_log_at_debug_only()
    {
        var capture = new CapturingProvider();
        await using var gw = await TestServer.StartAsync(hooks: new ServingHostHooks { ConfigureLogging = l => l.AddProvider(capture).SetMinimumLevel(LogLevel.Debug) });
        foreach (var path in (string[])["/health", "/ready", "/health"])
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Add("X-Request-Id", "probe-" + path.Trim('/'));
            Assert.Equal(HttpStatusCode.OK, (await gw.Anonymous.SendAsync(request)).StatusCode);
        }
        await Eventually.WaitUntilAsync(() => capture.Entries.Count(e => e.Scopes.Contains("probe-") && e.Message.Contains("-> 200")) == 3, () => "the probes' log lines");
        Assert.All(capture.Entries.Where(e => e.Scopes.Contains("probe-")), e => Assert.Equal(LogLevel.Debug, e.Level));
    }
}
