using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Akka.Configuration;
using Akka.Remote.Hosting;
using Pipeline.Cluster.Api;
using Pipeline.Cluster.Remoting;
using Pipeline.Cluster.Protocol;
using Pipeline.Jobs;
using Pipeline.Tests.Cluster;
using static Pipeline.Tests.Cluster.ClusterTestSupport;

namespace Pipeline.Tests.Reliability;

/// <summary>
/// Secrets stay secret: TLS settings come from files and the environment and never print their password; the API token
/// is refused when wrong, accepted when right, and appears nowhere in a node's output or files; the repository holds no
/// private key and its manifests take secrets from secret references only.
/// </summary>
[Trait("Category", "Security")]
[Collection(ProcessFaultsCollection.Name)]
public sealed partial class SecretsTests(SmallCorpusFixture corpus) : IClassFixture<SmallCorpusFixture>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("pipeline-secrets-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static Config ShippedTlsConf() =>
        ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "cluster-config", "tls.conf")));

    private static Func<string, string?> Environment(Dictionary<string, string> values) => name => values.GetValueOrDefault(name);

    [Fact]
    public void Tls_is_off_unless_configuration_or_environment_names_a_certificate()
    {
        var remote = new RemoteOptions { HostName = "127.0.0.1", Port = 0 }.WithTls(ConfigurationFactory.Empty, Environment([]));

        Assert.Null(RemoteTls.Load(ConfigurationFactory.Empty, Environment([])));
        Assert.Null(remote.EnableSsl);
        Assert.Equal(["akka.tcp://pipeline@a:4053"], RemoteTls.SeedAddresses(["akka.ssl.tcp://pipeline@a:4053"], remote));
    }

    [Fact]
    public void Shipped_tls_conf_with_the_certificate_from_the_environment_switches_on_mutual_tls()
    {
        using var certificate = TestCertificates.SelfSigned("pipeline-cluster");
        const string password = "pfx-password-from-a-mounted-secret";
        var pfx = TestCertificates.WritePfx(certificate, _folder, "cluster", password);
        var passwordFile = Path.Combine(_folder, "password");
        File.WriteAllText(passwordFile, password + "\n");

        var settings = RemoteTls.Load(ShippedTlsConf(), Environment(new()
        {
            [RemoteTls.CertificateVariable] = pfx,
            [RemoteTls.PasswordFileVariable] = passwordFile,
        }))!;
        var remote = new RemoteOptions { HostName = "127.0.0.1", Port = 0 }.WithTls(settings);

        Assert.Equal(pfx, settings.CertificatePath);
        Assert.Equal(password, settings.Password);
        Assert.True(remote.EnableSsl);
        Assert.False(remote.Ssl.SuppressValidation);
        Assert.True(remote.Ssl.RequireMutualAuthentication);
        Assert.NotNull(remote.Ssl.CustomValidator);
        Assert.Equal(RemoteTls.Sha256(certificate), RemoteTls.Sha256(remote.Ssl.X509Certificate!));
        Assert.Equal(["akka.ssl.tcp://pipeline@a:4053"], RemoteTls.SeedAddresses(["akka.tcp://pipeline@a:4053"], remote));
        Assert.DoesNotContain(password, settings.ToString());
    }

    [Fact]
    public void Shipped_tls_conf_without_its_mounted_files_fails_with_a_message_naming_the_missing_file()
    {
        var error = Assert.Throws<InvalidDataException>(() =>
            new RemoteOptions().WithTls(ShippedTlsConf(), Environment([])));

        Assert.Matches("/etc/pipeline/tls/(password|node.pfx) does not exist", error.Message);
    }

    [Fact]
    public void Wrong_certificate_password_is_a_clear_error_that_does_not_repeat_the_password()
    {
        using var certificate = TestCertificates.SelfSigned("pipeline-cluster");
        var pfx = TestCertificates.WritePfx(certificate, _folder, "cluster", "the-right-password");
        const string wrong = "a-wrong-password-4711";

        var error = Assert.Throws<InvalidDataException>(() =>
            new RemoteOptions().WithTls(new RemoteTlsSettings(pfx, wrong, [], null)));

        Assert.Contains(pfx, error.Message);
        Assert.DoesNotContain(wrong, error.Message);
    }

    [Fact]
    public void Certificate_without_its_private_key_is_refused()
    {
        using var certificate = TestCertificates.SelfSigned("pipeline-cluster");
        var publicOnly = Path.Combine(_folder, "public.pfx");
        File.WriteAllBytes(publicOnly, System.Security.Cryptography.X509Certificates.X509CertificateLoader
            .LoadCertificate(certificate.RawData).Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pfx, "pw"));

        var error = Assert.Throws<InvalidDataException>(() => new RemoteOptions().WithTls(new RemoteTlsSettings(publicOnly, "pw", [], null)));

        Assert.Contains("no private key", error.Message);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Api_token_is_refused_when_wrong_accepted_when_right_and_never_appears_in_output_or_files()
    {
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        var wrongToken = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        var apiPort = FreePort();
        var output = Path.Combine(_folder, "out");
        using var node = new PipelineProcess("coordinator",
            ["node", "--role", "coordinator,worker", "--local", "--threads", "1", "--verbose", "--api", $"http://127.0.0.1:{apiPort}"],
            new Dictionary<string, string> { ["PIPELINE_API_TOKEN"] = token });
        var address = new Uri($"http://127.0.0.1:{apiPort}/");
        await WaitForHealthAsync(address, node);
        var spec = new JobSpec { Corpus = corpus.Root, Output = output, Model = "none", PartitionSize = 64 };

        using (var intruder = new PipelineApiClient(address, wrongToken))
        {
            var refused = await Assert.ThrowsAsync<ApiRequestException>(() => intruder.SubmitAsync(spec, CancellationToken.None));
            Assert.Equal(401, refused.Status);
        }
        using (var anonymous = new PipelineApiClient(address, token: null))
            Assert.Equal(401, (await Assert.ThrowsAsync<ApiRequestException>(() => anonymous.SubmitAsync(spec, CancellationToken.None))).Status);
        using var client = new PipelineApiClient(address, token);
        var submitted = await client.SubmitAsync(spec, CancellationToken.None);
        var clock = Stopwatch.StartNew();
        JobView job;
        while (!(job = await client.JobAsync(submitted.JobId, CancellationToken.None)).Finished)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), $"job still {job.State}");
            await Task.Delay(200);
        }
        Assert.Equal(JobStates.Succeeded, job.State);
        node.Terminate();
        await node.WaitForExitAsync(TimeSpan.FromSeconds(30));

        var logs = node.Output;
        // the log covers the job at debug level, so its lack of the tokens means something
        Assert.Contains(submitted.JobId, logs);
        Assert.Contains("dbug", logs);
        Assert.DoesNotContain(token, logs);
        Assert.DoesNotContain(wrongToken, logs);
        foreach (var file in Directory.EnumerateFiles(output, "*", SearchOption.AllDirectories))
        {
            var bytes = File.ReadAllBytes(file);
            Assert.False(Contains(bytes, Encoding.UTF8.GetBytes(token)), $"{file} holds the API token");
        }
    }

    private static async Task WaitForHealthAsync(Uri address, PipelineProcess node)
    {
        using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (node.HasExited) throw new InvalidOperationException($"the node exited ({node.ExitCode}):\n{node.Tail()}");
            try
            {
                using var response = await http.GetAsync("readyz");
                if (response.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(200);
        }
        throw new TimeoutException("the API never became ready:\n" + node.Tail());
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    private static List<string> TrackedFiles(string root)
    {
        var (code, listing) = HostProbe.Run("git", "-C", root, "ls-files", "-z");
        Assert.True(code == 0, listing);
        return listing.Split('\0', StringSplitOptions.RemoveEmptyEntries).ToList();
    }

    // written in two halves so that this file does not match itself
    private static readonly string[] PrivateKeyMarkers =
    [
        "-----BEGIN " + "PRIVATE KEY-----", "-----BEGIN RSA " + "PRIVATE KEY-----", "-----BEGIN EC " + "PRIVATE KEY-----",
        "-----BEGIN ENCRYPTED " + "PRIVATE KEY-----", "-----BEGIN OPENSSH " + "PRIVATE KEY-----", "PuTTY-User-" + "Key-File",
    ];

    [GeneratedRegex(@"^\s*-?\s*name:\s*[""']?([A-Z0-9_]*(TOKEN|PASSWORD|SECRET)[A-Z0-9_]*)[""']?\s*$\s*^\s*value:", RegexOptions.Multiline)]
    private static partial Regex LiteralSecretEnv();

    [HostFact(HostFeature.GitCheckout)]
    [Trait("Category", "Slow")]
    public void Repository_holds_no_private_key_and_manifests_take_secrets_from_references()
    {
        var root = HostProbe.RepositoryRoot()!;
        var files = TrackedFiles(root);
        Assert.NotEmpty(files);
        var findings = new List<string>();
        foreach (var relative in files)
        {
            var extension = Path.GetExtension(relative).ToLowerInvariant();
            if (extension is ".pfx" or ".p12" or ".pem" or ".key" or ".jks")
                findings.Add($"{relative}: a key or certificate store is tracked");
            var path = Path.Combine(root, relative);
            if (!File.Exists(path) || new FileInfo(path).Length > 8 << 20) continue;
            var text = File.ReadAllText(path);
            foreach (var marker in PrivateKeyMarkers)
                if (text.Contains(marker, StringComparison.Ordinal)) findings.Add($"{relative}: holds '{marker}'");
            if (extension is not (".yaml" or ".yml")) continue;
            foreach (Match literal in LiteralSecretEnv().Matches(text))
            {
                // a path to a mounted secret (PIPELINE_API_TOKEN_FILE) is not itself a secret
                if (literal.Groups[1].Value.EndsWith("_FILE", StringComparison.Ordinal)) continue;
                findings.Add($"{relative}: environment variable {literal.Groups[1].Value} has a literal value; use valueFrom.secretKeyRef");
            }
        }
        Assert.True(findings.Count == 0, string.Join("\n", findings));
    }
}
