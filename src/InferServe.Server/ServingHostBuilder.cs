using InferServe.Api.Grpc;
using InferServe.Contracts.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace InferServe.Server;

/// <summary>Builds the slim ASP.NET Core host: console logging, shutdown timeout, Kestrel listeners and gRPC services.</summary>
internal static class ServingHostBuilder
{
    public static WebApplication Build(ServerSettings settings, ModelHost host, KestrelEndpoints endpoints, ServingHostHooks hooks)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        ConfigureLogging(builder.Logging, settings, hooks);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(Math.Max(1, settings.ShutdownTimeoutSeconds)));
        builder.WebHost.ConfigureKestrel(endpoints.Configure);
        GrpcHosting.AddServices(builder.Services, host);
        if (!settings.IsWorker) builder.Services.AddInferenceGrpc();
        hooks.ConfigureBuilder?.Invoke(builder);
        return builder.Build();
    }

    private static void ConfigureLogging(ILoggingBuilder logging, ServerSettings settings, ServingHostHooks hooks)
    {
        logging.ClearProviders();
        logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.None);
        if (hooks.ConfigureLogging is not null) hooks.ConfigureLogging(logging);
        else if (settings.LogFormat.Equals("json", StringComparison.OrdinalIgnoreCase))
            logging.AddJsonConsole(o => { o.IncludeScopes = true; o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ "; o.UseUtcTimestamp = true; });
        else
            // Scopes (connection, trace and request ids) only in JSON, where they are fields; a simple line stays short.
            logging.AddSimpleConsole(o => { o.IncludeScopes = false; o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        // Start-up failures (a port in use) reach the CLI, which prints one line; no stack trace in the log.
        logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
    }
}
