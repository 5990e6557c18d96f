using InferServe.ModelGen;
using InferServe.TestSupport;

namespace InferServe.Disaggregation.Tests;

/// <summary>Every certificate, key, token or API-key mistake a user can make stops `serve` with one line and a non-zero exit.</summary>
public sealed class CredentialCliErrorTests
{
    public static TheoryData<string, string[], string> Cases() => new()
    {
        { "missing certificate", ["--tls-cert", "{dir}/absent.pem", "--tls-key", "{key}"], "--tls-cert file '{dir}/absent.pem' does not exist" },
        { "certificate without key", ["--tls-cert", "{cert}"], "--tls-cert and --tls-key go together" },
        { "not PEM", ["--tls-cert", "{dir}/garbage.pem", "--tls-key", "{key}"], "holds no PEM certificate" },
        { "key not PEM", ["--tls-cert", "{cert}", "--tls-key", "{dir}/garbage.pem"], "holds no PEM private key" },
        { "broken key", ["--tls-cert", "{cert}", "--tls-key", "{dir}/broken.key"], "is not a readable PEM private key" },
        { "key of another certificate", ["--tls-cert", "{cert}", "--tls-key", "{rogue-key}"], "does not match the certificate in --tls-cert" },
        { "mTLS without CA", ["--role", "prefill", "--worker-tls-cert", "{cert}", "--worker-tls-key", "{key}"], "needs all three of --worker-tls-cert, --worker-tls-key and --worker-ca" },
        { "certificate of another CA", ["--role", "decode", "--worker-tls-cert", "{rogue}", "--worker-tls-key", "{rogue-key}", "--worker-ca", "{ca}"], "is not signed by --worker-ca" },
        { "CA file not PEM", ["--role", "decode", "--worker-tls-cert", "{cert}", "--worker-tls-key", "{key}", "--worker-ca", "{dir}/garbage.pem"], "--worker-ca '{dir}/garbage.pem' holds no PEM certificate" },
        { "short token", ["--role", "decode", "--worker-token", "short"], "at least 16 characters" },
        { "worker flags on one process", ["--role", "all", "--worker-token", "0123456789abcdef0123"], "are for --role prefill, decode or gateway" },
        { "zero limit", ["--api-key", "sk-some-key:0"], "must be a whole number of requests from 1" },
        { "plain worker address with mTLS", ["--role", "gateway", "--decode", "http://127.0.0.1:1", "--worker-tls-cert", "{cert}", "--worker-tls-key", "{key}", "--worker-ca", "{ca}"], "must be https://" },
    };

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(Cases))]
    public async Task A_credential_mistake_is_one_line_and_a_non_zero_exit(string mistake, string[] flags, string message)
    {
        using var certs = TestCertificates.Create();
        certs.WriteFile("garbage.pem", "this is not a certificate\n");
        certs.WriteFile("broken.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        string Fill(string s) => s.Replace("{dir}", certs.Directory).Replace("{cert}", certs.NodeCertPath).Replace("{key}", certs.NodeKeyPath)
            .Replace("{rogue-key}", certs.RogueKeyPath).Replace("{rogue}", certs.RogueCertPath).Replace("{ca}", certs.CaPath);

        var model = TestModelGenerator.Ensure(ModelSpec.Tiny, Path.Combine(TestPaths.GraphCacheDir, "models", "tiny"));
        var (code, output) = await ServerProcess.RunToEndAsync(
            ["serve", "--model", model, "--port", "0", "--grpc-port", ServerProcess.FreePort().ToString(), .. flags.Select(Fill)], TestContext.Current.CancellationToken);

        Assert.True(code != 0, $"{mistake}: exit 0\n{output}");
        Assert.Contains(Fill(message), output);
        // The error is the last line and the only one (a startup line naming the model may precede it); no stack trace.
        var lines = output.Trim().Split('\n');
        Assert.Single(lines, l => l.StartsWith("error: "));
        Assert.StartsWith("error: ", lines[^1]);
        Assert.Contains(Fill(message), lines[^1]);
        Assert.DoesNotMatch(@"\n\s+at [A-Z]\w*\.", output);
    }
}
