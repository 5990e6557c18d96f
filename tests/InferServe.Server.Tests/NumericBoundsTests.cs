using System.Text.Json;
using InferServe.TestSupport;
using InferServe.TestSupport.Server;

namespace InferServe.Server.Tests;

/// <summary>
/// Numeric bounds through the HTTP API: every bounded schema's outputs validate (python3-jsonschema) on the
/// generated model and on stories260K, with over 200 outputs sampled at temperature 1, through response_format
/// and guided_json alike.
/// </summary>
public sealed class NumericBoundsTests
{
    private const int MaxTokens = 120;

    private static Task<TestServer> StartAsync(string model) => TestServer.StartAsync(s =>
    {
        s.Engine.MaxQueue = 512; // every request of the test is sent at once
        if (model == "stories260K") s.Engine.Model = Path.Combine(TestPaths.RequireStories260K(), "stories260K.bin");
    });

    private static async Task<(string Text, string Finish)> CompleteAsync(TestServer gw, Dictionary<string, object> body)
    {
        var (response, json) = await gw.PostAsync("/v1/completions", body);
        Assert.True(response.IsSuccessStatusCode, json.ToString());
        var choice = json.GetProperty("choices")[0];
        return (choice.GetProperty("text").GetString()!, choice.GetProperty("finish_reason").GetString()!);
    }

    private static Dictionary<string, object> Request(string model, string schema, double temperature, int seed, bool guidedJson) => new()
    {
        ["prompt"] = model == "stories260K" ? "Once upon a time" : "Answer in JSON:",
        ["max_tokens"] = MaxTokens, ["temperature"] = temperature, ["seed"] = seed,
        [guidedJson ? "guided_json" : "response_format"] = guidedJson ? schema
            : new { type = "json_schema", json_schema = new { name = "out", schema = JsonDocument.Parse(schema).RootElement, strict = true } },
    };

    [Theory(Timeout = 900_000)]
    [InlineData("tiny", 8)]
    [InlineData("stories260K", 2)]
    public async Task Bounded_schema_outputs_stop_and_validate_greedy_and_at_temperature_1(string model, int seedsAtTemperature1)
    {
        JsonSchemaValidator.RequirePeer();
        var log = TestContext.Current.TestOutputHelper;
        await using var gw = await StartAsync(model);
        var jobs = new List<(string Schema, double Temperature, int Seed)>();
        foreach (var schema in StructuredOutputCases.NumericSchemas)
        {
            jobs.Add((schema, 0, 0));
            for (int seed = 0; seed < seedsAtTemperature1; seed++) jobs.Add((schema, 1, seed));
        }
        // Alternate the two request fields that carry a schema.
        var outputs = await Task.WhenAll(jobs.Select(async (j, i) => (j, await CompleteAsync(gw, Request(model, j.Schema, j.Temperature, j.Seed, guidedJson: i % 2 == 1)))));
        var notStopped = outputs.Where(o => o.Item2.Finish != "stop").Select(o => $"{o.j.Schema} -> {o.Item2.Text}").ToList();
        Assert.True(notStopped.Count == 0, "did not stop:\n" + string.Join("\n", notStopped));
        var verdicts = await JsonSchemaValidator.ValidateAsync([.. outputs.Select(o => (o.j.Schema, o.Item2.Text))]);
        var failures = outputs.Zip(verdicts).Where(x => x.Second is not null).Select(x => $"{x.First.j.Schema} -> {x.First.Item2.Text}: {x.Second}").ToList();
        log?.WriteLine($"{model}: {outputs.Length} outputs ({outputs.Count(o => o.j.Temperature == 1)} at temperature 1), {failures.Count} invalid");
        foreach (var o in outputs.Take(60)) log?.WriteLine($"  T={o.j.Temperature} {o.j.Schema} -> {o.Item2.Text}");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
