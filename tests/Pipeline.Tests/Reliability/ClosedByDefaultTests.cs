using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Pipeline.Cluster.Remoting;
using Pipeline.Jobs;
using Pipeline.Tests.Cluster;
using Xunit.Abstractions;
using static Pipeline.Tests.Cluster.ClusterTestSupport;

namespace Pipeline.Tests.Reliability;

/// <summary>
/// Secure by default, with real `pipeline` processes: a node binds loopback unless told otherwise, refuses a cluster port
/// beyond loopback without TLS, refuses a port in use; `pipeline tls init` output forms a TLS cluster that runs a job, and
/// outsiders (no certificate, another CA's) neither join nor submit with `node --job`. "Beyond loopback" is this machine's
/// own non-loopback address when it has one (traffic never leaves the machine), else 0.0.0.0.
/// </summary>
[Trait("Category", "Security")]
[Trait("Category", "Slow")]
public sealed class ClosedByDefaultTests(SmallCorpusFixture corpus, ITestOutputHelper log) : IClassFixture<SmallCorpusFixture>, IDisposable
{
    private const string Token = "closed-cluster-test-token";
    private readonly string _work = Directory.CreateTempSubdirectory("pipeline-closed-").FullName;
    private readonly List<PipelineProcess> _processes = [];

    public void Dispose()
    {
        foreach (var process in _processes) process.Dispose();
        Directory.Delete(_work, recursive: true);
    }

    private static string BeyondLoopback => NodeEndpoints.FirstMachineAddress() ?? "0.0.0.0";

    private PipelineProcess Start(string name, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var process = new PipelineProcess(name, args, environment);
        _processes.Add(process);
        return process;
    }

    private static async Task WaitForOutputAsync(PipelineProcess process, string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!process.Output.Contains(text, StringComparison.Ordinal))
        {
            if (process.HasExited) throw new InvalidOperationException($"{process.Name} exited ({process.ExitCode}):\n{process.Tail()}");
            if (clock.Elapsed > timeout) throw new TimeoutException($"{process.Name} never printed '{text}':\n{process.Tail()}");
            await Task.Delay(50);
        }
    }

    private static bool Accepts(string host, int port)
    {
        try
        {
            using var client = new TcpClient();
            return client.ConnectAsync(host, port).Wait(TimeSpan.FromSeconds(2));
        }
        catch (AggregateException) { return false; }
        catch (SocketException) { return false; }
    }

    private async Task<Dictionary<string, string>> TlsInitAsync(string name)
    {
        var folder = Path.Combine(_work, name);
        var init = Start("tls-init-" + name, null, "tls", "init", "--out", folder);
        Assert.True(await init.WaitForExitAsync(TimeSpan.FromSeconds(60)) == 0, init.Output);
        foreach (var file in new[] { "ca.crt", "node.pfx", "password", "ca-key.pfx", "ca-password" })
            Assert.True(File.Exists(Path.Combine(folder, file)), $"tls init wrote no {file}");
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(folder, "node.pfx")));
        return new Dictionary<string, string>
        {
            [RemoteTls.CertificateVariable] = Path.Combine(folder, "node.pfx"),
            [RemoteTls.PasswordFileVariable] = Path.Combine(folder, "password"),
            [RemoteTls.CaVariable] = Path.Combine(folder, "ca.crt"),
        };
    }

    [Fact]
    public async Task Node_without_tls_beyond_loopback_refuses_to_start_and_opens_nothing()
    {
        foreach (var host in new[] { BeyondLoopback, "0.0.0.0" }.Distinct())
        {
            var port = FreePort();
            var node = Start("worker", null, "node", "--role", "worker", "--hostname", host, "--port", port.ToString());
            // exit 2: bad usage or input (README, "Exit codes"), refused before anything opens
            Assert.True(await node.WaitForExitAsync(TimeSpan.FromSeconds(60)) == 2, node.Output);
            Assert.Contains($"refusing to open the cluster port on {host} without TLS", node.Output);
            Assert.Contains("pipeline tls init --out DIR", node.Output);
            Assert.DoesNotContain("up with roles", node.Output);
            Assert.False(Accepts("127.0.0.1", port), $"port {port} is open although the node refused to start");
            log.WriteLine($"{host}: {node.Output.Trim()}");
        }
    }

    [Fact]
    public async Task Node_without_a_host_binds_and_advertises_loopback_and_says_so()
    {
        var port = FreePort();
        var node = Start("worker", null, "node", "--role", "worker", "--port", port.ToString());
        await WaitForOutputAsync(node, "up with roles", TimeSpan.FromSeconds(60));

        Assert.Contains($"node akka.tcp://pipeline@127.0.0.1:{port} up with roles [worker]", node.Output);
        Assert.Contains($"cluster port bound to 127.0.0.1:{port} (loopback only", node.Output);
        Assert.True(Accepts("127.0.0.1", port));
        if (NodeEndpoints.FirstMachineAddress() is { } address)
            Assert.False(Accepts(address, port), $"{address}:{port} accepts connections: the node is reachable beyond loopback");
    }

    [Fact]
    public async Task Insecure_node_says_so_at_start_and_in_healthz_and_metrics_and_never_advertises_0_0_0_0()
    {
        var port = FreePort();
        var api = FreePort();
        var node = Start("coordinator", null, "node", "--role", "coordinator", "--hostname", "0.0.0.0", "--insecure", "--port", port.ToString(),
            "--api", $"http://127.0.0.1:{api}");
        await WaitForOutputAsync(node, "up with roles", TimeSpan.FromSeconds(60));

        Assert.Contains("INSECURE: the cluster port 0.0.0.0:" + port, node.Output);
        Assert.DoesNotContain("pipeline@0.0.0.0", node.Output);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{api}") };
        var health = JsonDocument.Parse(await http.GetStringAsync("/healthz")).RootElement;
        Assert.Contains("INSECURE", health.GetProperty("warning").GetString());
        Assert.Contains("pipeline_cluster_port_insecure 1", await http.GetStringAsync("/metrics"));
    }

    [Fact]
    public async Task Api_beyond_loopback_needs_a_token_for_everything_but_the_probes()
    {
        // no token: refused at start, nothing listens
        var refusedPort = FreePort();
        var refused = Start("coordinator-no-token", null, "node", "--role", "coordinator", "--port", FreePort().ToString(),
            "--api", $"http://0.0.0.0:{refusedPort}");
        Assert.True(await refused.WaitForExitAsync(TimeSpan.FromSeconds(60)) == 2, refused.Output);
        Assert.Contains($"the HTTP API would listen on http://0.0.0.0:{refusedPort}, beyond loopback, with no token", refused.Output);
        Assert.False(Accepts("127.0.0.1", refusedPort), $"port {refusedPort} is open although the node refused to start");

        // with a token: reads need it too (protect-reads on by default beyond loopback); probes and the page stay open
        var api = FreePort();
        var node = Start("coordinator", new Dictionary<string, string> { ["PIPELINE_API_TOKEN"] = Token },
            "node", "--role", "coordinator", "--port", FreePort().ToString(), "--api", $"http://0.0.0.0:{api}");
        await WaitForOutputAsync(node, "up with roles", TimeSpan.FromSeconds(60));
        Assert.Contains("every request but /healthz, /readyz and the dashboard page needs the token", node.Output);
        Assert.DoesNotContain(Token, node.Output);
        var host = BeyondLoopback == "0.0.0.0" ? "127.0.0.1" : BeyondLoopback;
        using var http = new HttpClient { BaseAddress = new Uri($"http://{host}:{api}") };
        foreach (var path in new[] { "/jobs", "/workers", "/metrics", "/jobs/current" })
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(path)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/")).StatusCode);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/jobs")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/metrics")).StatusCode);

        // --insecure opens reads beyond loopback, loudly
        var openApi = FreePort();
        var open = Start("coordinator-insecure", null, "node", "--role", "coordinator", "--port", FreePort().ToString(),
            "--insecure", "--api", $"http://0.0.0.0:{openApi}");
        await WaitForOutputAsync(open, "up with roles", TimeSpan.FromSeconds(60));
        Assert.Contains($"INSECURE: the HTTP API on http://0.0.0.0:{openApi}", open.Output);
        using var anyone = new HttpClient { BaseAddress = new Uri($"http://{host}:{openApi}") };
        Assert.Equal(HttpStatusCode.OK, (await anyone.GetAsync("/jobs")).StatusCode);
    }

    [Fact]
    public async Task Second_node_on_a_port_in_use_fails_at_start()
    {
        var port = FreePort();
        var first = Start("first", null, "node", "--role", "coordinator", "--port", port.ToString());
        await WaitForOutputAsync(first, "up with roles", TimeSpan.FromSeconds(60));
        var second = Start("second", null, "node", "--role", "worker", "--port", port.ToString());

        Assert.True(await second.WaitForExitAsync(TimeSpan.FromSeconds(60)) == 2, second.Output); // bad input: another --port
        Assert.Contains($"port {port} on 127.0.0.1 is already in use", second.Output);
        Assert.False(first.HasExited);
    }

    [Fact]
    [Trait("Category", "Processes")]
    [Trait("Category", "Slow")]
    public async Task Tls_init_output_runs_a_job_and_outsiders_can_neither_join_nor_submit()
    {
        var host = BeyondLoopback == "0.0.0.0" ? "127.0.0.1" : BeyondLoopback;
        var cluster = await TlsInitAsync("tls");
        var otherCa = await TlsInitAsync("other-ca");
        var port = FreePort();
        var api = FreePort();
        var seed = $"akka.tcp://pipeline@{host}:{port}";
        var config = Path.Combine(_work, "test.conf");
        File.WriteAllText(config, FastFailureHocon + "\npipeline.submit.join-timeout = 12s\nakka.cluster.seed-node-timeout = 2s\n");
        var coordinatorEnv = new Dictionary<string, string>(cluster) { ["PIPELINE_API_TOKEN"] = Token };
        var coordinator = Start("coordinator", coordinatorEnv, "node", "--role", "coordinator", "--hostname", host, "--port", port.ToString(),
            "--api", $"http://127.0.0.1:{api}", "--config", config);
        await WaitForOutputAsync(coordinator, "up with roles", TimeSpan.FromSeconds(60));
        Assert.Contains("mutual TLS on", coordinator.Output);
        Assert.Contains("TLS certificate CN=pipeline-node", coordinator.Output);
        var workerPort = FreePort();
        var worker = Start("w1", cluster, "node", "--role", "worker", "--hostname", host, "--port", workerPort.ToString(), "--seed", seed,
            "--name", "w1", "--threads", "1", "--config", config);

        // outsiders, all at once: a one-shot coordinator without a certificate (plain TCP, --insecure), one with another
        // CA's certificate, and a worker without one; each tries to join the cluster's seed and the first two to submit a job
        var stolen = Path.Combine(_work, "stolen");
        var outsiderJob = Path.Combine(_work, "outsider-job.json");
        File.WriteAllText(outsiderJob, new JobSpec { Corpus = corpus.Root, Output = stolen, Model = "none" }.ToJson());
        int plainPort = FreePort(), foreignPort = FreePort(), outsiderWorkerPort = FreePort();
        var plain = Start("outsider-plain", null, "node", "--role", "coordinator", "--hostname", host, "--insecure", "--port", plainPort.ToString(),
            "--seed", seed, "--job", outsiderJob, "--config", config);
        var foreign = Start("outsider-other-ca", otherCa, "node", "--role", "coordinator", "--hostname", host, "--port", foreignPort.ToString(),
            "--seed", seed, "--job", outsiderJob, "--config", config);
        var outsiderWorker = Start("outsider-worker", null, "node", "--role", "worker", "--hostname", host, "--insecure",
            "--port", outsiderWorkerPort.ToString(), "--seed", seed, "--name", "thief", "--config", config);
        // and a raw TLS client that presents no certificate to the cluster port
        var rawRefused = await RawTlsWithoutCertificateIsRefusedAsync(host, port);

        foreach (var outsider in new[] { plain, foreign })
        {
            Assert.True(await outsider.WaitForExitAsync(TimeSpan.FromSeconds(90)) == 1, outsider.Output);
            Assert.Contains("did not become a member of the cluster", outsider.Output);
            Assert.DoesNotContain("Welcome from", outsider.Output);
        }
        Assert.DoesNotContain("Welcome from", outsiderWorker.Output);
        Assert.False(Directory.Exists(stolen), "an outsider's job touched its output folder");
        Assert.True(rawRefused, "the cluster port completed a TLS handshake with a client that has no certificate");

        // the insider's job, submitted with the API token, runs on the TLS cluster
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{api}") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        var output = Path.Combine(_work, "out");
        var body = JsonSerializer.Serialize(new { corpus = corpus.Root, output, model = "none", partition_size = 12 });
        using (var submitted = await http.PostAsync("/jobs", new StringContent(body, Encoding.UTF8, "application/json")))
            Assert.True(submitted.StatusCode == HttpStatusCode.Accepted, await submitted.Content.ReadAsStringAsync() + "\n" + coordinator.Tail());
        var clock = Stopwatch.StartNew();
        string state;
        do
        {
            await Task.Delay(200);
            state = JsonDocument.Parse(await http.GetStringAsync("/jobs/current")).RootElement.GetProperty("state").GetString()!;
        } while (state is not ("succeeded" or "failed" or "cancelled") && clock.Elapsed < TimeSpan.FromSeconds(120));
        Assert.True(state == "succeeded", $"job {state}\n{coordinator.Tail()}\n----\n{worker.Tail()}");
        var (rows, distinct) = CountImages(Path.Combine(output, "dataset"));
        Assert.Equal(corpus.Images, rows);
        Assert.Equal(rows, distinct);

        foreach (var outsiderPort in new[] { plainPort, foreignPort, outsiderWorkerPort })
            Assert.DoesNotContain($":{outsiderPort}] is JOINING", coordinator.Output);
        Assert.DoesNotContain("thief", coordinator.Output);
        log.WriteLine($"cluster on {host}:{port}; 4 outsider attempts (plain TCP --job, other CA --job, plain worker, raw TLS without a client certificate), all refused; " +
                      $"insider job {corpus.Images} images in {clock.Elapsed.TotalSeconds:F1} s");
    }

    private static async Task<bool> RawTlsWithoutCertificateIsRefusedAsync(string host, int port)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(host, port);
        await using var ssl = new SslStream(tcp.GetStream());
        try
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "pipeline-node",
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            });
            // TLS 1.3 reports a refused client certificate only on the first read
            var buffer = new byte[1];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await ssl.WriteAsync(new byte[] { 0, 0, 0, 1, 0 }, timeout.Token);
            var read = await ssl.ReadAsync(buffer, timeout.Token);
            return read == 0;
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException)
        {
            return true;
        }
    }
}
