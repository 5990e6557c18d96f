using System.CommandLine;
using InferServe.Cli.Options;

namespace InferServe.Cli;

/// <summary>`inferserve healthcheck`: exit 0 when a URL answers 2xx (container health checks).</summary>
public static class HealthcheckCommand
{
    private static readonly Option<string?> Url = Opt.Text("--url", "address to probe", "http://127.0.0.1:8000/ready", helpName: "URL");
    private static readonly Option<string?> Ca = Opt.Text("--ca", "trust this private CA for an https:// server (serve --tls-cert)", helpName: "PEM");

    public static Command Create() => Opt.Command("healthcheck", "Exit 0 when a URL answers 200 (container health checks)", [Url, Ca],
        p => RunAsync(p.GetValue(Url)!, p.GetValue(Ca)));

    private static async Task<int> RunAsync(string url, string? ca)
    {
        var handler = new SocketsHttpHandler();
        if (ca is not null)
            handler.SslOptions.RemoteCertificateValidationCallback = InferServe.Transport.CertificateTrust.ServerValidator(InferServe.Server.Security.PemCredentials.LoadCaBundle(ca, "--ca"), alsoSystem: true);
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var response = await http.GetAsync(url);
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
