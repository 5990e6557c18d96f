using InferServe.ChatTemplates;
using InferServe.Contracts.Hosting;
using Microsoft.Extensions.Logging;

namespace InferServe.Server;

/// <summary>Builds the chat prompt builder once, on the first chat request (the template comes with the loaded model).</summary>
internal sealed class ChatTemplateCache(string? templateOverride, string? toolCallParser, ChatTemplateOptions options, ILogger log)
{
    private readonly Lock _gate = new();
    private ChatPromptBuilder? _builder;

    public ChatPromptBuilder Get(LoadedModel loaded)
    {
        lock (_gate)
        {
            try
            {
                return _builder ??= new ChatPromptBuilder(loaded, templateOverride, options, log, toolCallParser);
            }
            catch (ChatTemplateException e)
            {
                // Not cached: every chat request reports the broken template, and the log says why.
                log.LogError(e, "The chat template is invalid");
                throw new ApiException(500, "The server's chat template is invalid: " + e.Message, null, "chat_template_invalid");
            }
            catch (ArgumentException e)
            {
                // An unknown ToolCallParser from configuration (the CLI checks its flag up front).
                log.LogError(e, "The tool-call parser setting is invalid");
                throw new ApiException(500, "The server's tool-call parser setting is invalid: " + e.Message, null, "tool_call_parser_invalid");
            }
        }
    }
}
