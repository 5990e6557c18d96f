using InferServe.ChatTemplates;
using InferServe.Engine.Hosting;
using Microsoft.Extensions.Logging;

namespace InferServe.Server;

/// <summary>Builds the chat prompt builder once, on the first chat request (the template comes with the loaded model).</summary>
internal sealed class ChatTemplateCache(string? templateOverride, ChatTemplateOptions options, ILogger log)
{
    private readonly Lock _gate = new();
    private ChatPromptBuilder? _builder;

    public ChatPromptBuilder Get(LoadedEngine loaded)
    {
        lock (_gate)
        {
            try
            {
                return _builder ??= new ChatPromptBuilder(loaded, templateOverride, options, log);
            }
            catch (ChatTemplateException e)
            {
                // Not cached: every chat request reports the broken template, and the log says why.
                log.LogError(e, "The chat template is invalid");
                throw new ApiException(500, "The server's chat template is invalid: " + e.Message, null, "chat_template_invalid");
            }
        }
    }
}
