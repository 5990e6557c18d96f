using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace InferServe.Server;

/// <summary>A request body parsed as JSON; malformed JSON is a 400, never a 500.</summary>
internal static class JsonBody
{
    public static async Task<JsonDocument> ParseAsync(HttpContext ctx)
    {
        try
        {
            return await JsonDocument.ParseAsync(ctx.Request.Body, default, ctx.RequestAborted);
        }
        catch (JsonException e)
        {
            throw new ApiException(400, $"The request body is not valid JSON: {e.Message}", null, "invalid_json", "invalid_request_error");
        }
    }
}
