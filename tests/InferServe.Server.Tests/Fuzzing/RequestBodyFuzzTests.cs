using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using InferServe.TestSupport.Fuzzing;
using InferServe.TestSupport.Server;
using Microsoft.Extensions.Logging;

namespace InferServe.Server.Tests.Fuzzing;

/// <summary>
/// Mutated OpenAI request bodies, sent over real HTTP to a real server as a new user's client would: no answer is a
/// 5xx, every error is OpenAI-shaped, every 200 is a well-formed completion, and the server keeps serving.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class RequestBodyFuzzTests(RequestBodyFuzzTests.Fixture fixture) : IClassFixture<RequestBodyFuzzTests.Fixture>
{
    /// <summary>The test server, with its unhandled errors captured so a failure report names the exception behind a 500.</summary>
    public class Fixture : IAsyncLifetime
    {
        public ErrorLog Errors { get; } = new();
        public TestServer Gateway { get; private set; } = null!;
        protected virtual void Configure(TestSettings settings) { }
        public async ValueTask InitializeAsync() => Gateway = await TestServer.StartAsync(Configure, hooks: new ServingHostHooks
        {
            ConfigureLogging = l => l.AddProvider(Errors),
        });
        public async ValueTask DisposeAsync() => await Gateway.DisposeAsync();
    }

    private const string Completions = "/v1/completions";
    private const string Chat = "/v1/chat/completions";

    private static readonly string[] Fields =
        ["model", "prompt", "messages", "max_tokens", "max_completion_tokens", "n", "stream", "stream_options", "include_usage",
         "logprobs", "top_logprobs", "echo", "temperature", "top_p", "top_k", "min_p", "repetition_penalty", "presence_penalty",
         "frequency_penalty", "seed", "stop", "ignore_eos", "priority", "user", "role", "content", "name", "tool_call_id", "type",
         "text", "tool_calls", "logit_bias", "suffix", "best_of", "response_format"];

    // Small generations: the fuzzer's point is the request parsing, not the decode loop.
    private static readonly (string Path, string Json)[] Seeds =
    [
        (Completions, """{"model":"tiny-test","prompt":"Once upon a time","max_tokens":2,"temperature":0}"""),
        (Completions, """{"prompt":["a b","c"],"max_tokens":1,"n":2,"logprobs":2,"stop":["x","\n"],"seed":7}"""),
        (Completions, """{"prompt":[1,2,3],"max_tokens":2,"echo":true,"top_k":5,"top_p":0.9,"min_p":0.1,"stream":true,"stream_options":{"include_usage":true}}"""),
        (Completions, """{"prompt":[[1,2],[3]],"max_tokens":1,"presence_penalty":0.5,"frequency_penalty":-0.5,"repetition_penalty":1.1,"priority":1,"user":"u"}"""),
        (Chat, """{"model":"tiny-test","messages":[{"role":"user","content":"Hi"}],"max_tokens":2}"""),
        (Chat, """{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Hi"}]},{"role":"assistant","content":null},{"role":"user","content":"x","name":"n"}],"max_completion_tokens":1,"logprobs":true,"top_logprobs":2}"""),
        (Chat, """{"messages":[{"role":"user","content":"Hi"},{"role":"tool","content":"42","tool_call_id":"t1"}],"max_tokens":2,"stream":true,"stream_options":{"include_usage":true},"n":2,"ignore_eos":true,"stop":"."}"""),
    ];

    private readonly TestServer _gw = fixture.Gateway;

    [Fact(Timeout = FuzzRun.TestTimeoutMs)]
    public async Task Mutated_request_bodies_never_get_a_5xx_and_errors_are_openai_shaped()
    {
        var run = new FuzzRun("http-request-bodies", defaultCases: 3000);
        var mutator = new JsonMutator(Fields);
        var seeds = Seeds.Select(s => (s.Path, Node: JsonNode.Parse(s.Json)!)).ToArray();
        int served = 0;
        await run.RunAsync(async (i, r, ct) =>
        {
            var (path, seed) = seeds[r.Next(seeds.Length)];
            if (r.Next(10) == 0) path = path == Chat ? Completions : Chat; // the other endpoint's shape
            var body = mutator.Mutate(r, seed);
            using var response = await _gw.PostJsonAsync(path, body, ct);
            var text = await response.Content.ReadAsStringAsync(ct);
            var problem = Check((int)response.StatusCode, response.Content.Headers.ContentType, text);
            if (problem is not null) run.Fail(i, $"{path}: {problem}", body);
            else run.Outcome($"{(int)response.StatusCode} {ErrorParam(text)}");
            if (Interlocked.Increment(ref served) % 500 == 0) await AssertServesNormalRequestAsync(ct);
        }, parallelism: 4);
        await AssertServesNormalRequestAsync(TestContext.Current.CancellationToken);
        foreach (var error in fixture.Errors.Distinct) run.Fail(-1, "server error: " + error, "(see the 500s above)");
        run.AssertClean();
    }

    /// <summary>Null when the answer is acceptable, else what is wrong with it.</summary>
    internal static string? Check(int status, MediaTypeHeaderValue? contentType, string text)
    {
        if (status >= 500) return $"status {status}: {Shorten(text)}";
        if (status == 200)
        {
            if (contentType?.MediaType == "text/event-stream")
            {
                foreach (var line in text.Split('\n'))
                {
                    if (!line.StartsWith("data: ", StringComparison.Ordinal) || line == "data: [DONE]") continue;
                    if (!TryParse(line[6..], out var chunk) || chunk.ValueKind != JsonValueKind.Object) return "a stream chunk is not a JSON object";
                    if (chunk.TryGetProperty("error", out _)) return $"a stream ended with an error: {Shorten(line)}";
                }
                return text.TrimEnd().EndsWith("data: [DONE]", StringComparison.Ordinal) ? null : "a stream did not end with [DONE]";
            }
            return TryParse(text, out var ok) && ok.TryGetProperty("choices", out _) ? null : $"a 200 without choices: {Shorten(text)}";
        }
        if (!TryParse(text, out var body) || body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("error", out var error))
            return $"status {status} without an OpenAI error body: {Shorten(text)}";
        if (!error.TryGetProperty("message", out var m) || m.ValueKind != JsonValueKind.String || m.GetString()!.Length == 0
            || !error.TryGetProperty("type", out var t) || t.ValueKind != JsonValueKind.String
            || !error.TryGetProperty("param", out var p) || p.ValueKind is not (JsonValueKind.String or JsonValueKind.Null)
            || !error.TryGetProperty("code", out var c) || c.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
        {
            return $"status {status} with a malformed error body: {Shorten(text)}";
        }

        return null;
    }

    private static string ErrorParam(string text) =>
        TryParse(text, out var b) && b.ValueKind == JsonValueKind.Object && b.TryGetProperty("error", out var e) && e.TryGetProperty("param", out var p)
            ? p.ToString() : "";

    private static bool TryParse(string text, out JsonElement element)
    {
        try
        {
            element = JsonDocument.Parse(text).RootElement.Clone();
            return true;
        }
        catch (JsonException)
        {
            element = default;
            return false;
        }
    }

    /// <summary>Collects the exceptions the server logs as unhandled (type, message and the frame that threw).</summary>
    public sealed class ErrorLog : Microsoft.Extensions.Logging.ILoggerProvider, Microsoft.Extensions.Logging.ILogger
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _errors = new();
        public IReadOnlyCollection<string> Distinct => _errors.Keys.ToList();
        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => this;
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => logLevel >= Microsoft.Extensions.Logging.LogLevel.Error;
        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (exception is not null && logLevel >= Microsoft.Extensions.Logging.LogLevel.Error)
                _errors.TryAdd($"{exception.GetType().Name}: {exception.Message} at {exception.StackTrace?.Split('\n').FirstOrDefault()?.Trim()}", 0);
        }
        public void Dispose() { }
    }

    private static string Shorten(string s) => s.Length <= 300 ? s : s[..300] + "...";

    private async Task AssertServesNormalRequestAsync(CancellationToken ct)
    {
        using var response = await _gw.PostJsonAsync(Completions, """{"prompt":"Once upon a time","max_tokens":2}""", ct);
        Assert.Equal(200, (int)response.StatusCode);
    }
}
