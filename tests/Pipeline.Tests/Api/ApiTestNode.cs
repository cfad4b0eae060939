using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pipeline.Cluster.Api;
using Pipeline.Cluster.Hosting;
using Pipeline.Jobs;
using Pipeline.Processing;

namespace Pipeline.Tests.Api;

/// <summary>A real cluster node on loopback TCP with the HTTP API on a free port, as a coordinator would run it.</summary>
public sealed class ApiTestNode : IAsyncDisposable
{
    public const string Token = "test-token-5f1c2a";
    private const string TestHocon = "akka.actor.serialize-messages = on\nakka.loglevel = WARNING\npipeline.coordinator.tick = 200ms";

    private readonly IHost _host;
    private readonly string _workDir;

    private ApiTestNode(IHost host, string workDir)
    {
        _host = host;
        _workDir = workDir;
        BaseAddress = host.Services.GetRequiredService<ApiHostedService>().Server.BaseAddress;
        Client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri BaseAddress { get; }
    public HttpClient Client { get; }
    public ActorSystem System => _host.Services.GetRequiredService<ActorSystem>();

    /// <summary>A folder of this test's own: the corpus folder exists, the output folder is where parts go.</summary>
    public string Corpus => Path.Combine(_workDir, "corpus");
    public string Output => Path.Combine(_workDir, "out");

    public static async Task<ApiTestNode> StartAsync(IJobServices services, ApiOptions? api = null, bool coordinator = true,
        bool worker = true, string[]? seeds = null, string workerName = "worker-1")
    {
        var workDir = Path.Combine(Path.GetTempPath(), "pipeline-api-tests", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path.Combine(workDir, "corpus"));
        var options = new NodeOptions
        {
            Coordinator = coordinator, Worker = worker, Local = true, WorkerName = workerName, SeedNodes = seeds ?? [],
            ExtraHocon = TestHocon,
        };
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        PipelineNode.Configure(builder.Services, options, PipelineNode.LoadConfig(options), services);
        builder.Services.AddPipelineApi(api ?? new ApiOptions { Urls = "http://127.0.0.1:0", Token = Token });
        var host = builder.Build();
        await host.StartAsync();
        return new ApiTestNode(host, workDir);
    }

    /// <summary>A second node that joins this one as a worker (no API on it).</summary>
    public async Task<IHost> AddWorkerAsync(IJobServices services, string name)
    {
        var seed = Akka.Cluster.Cluster.Get(System).SelfAddress.ToString();
        var options = new NodeOptions { Worker = true, Local = true, WorkerName = name, SeedNodes = [seed], ExtraHocon = TestHocon };
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        PipelineNode.Configure(builder.Services, options, PipelineNode.LoadConfig(options), services);
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    public JobSpec Spec() => new() { Corpus = Corpus, Output = Output, Model = "none" };

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public HttpRequestMessage Request(HttpMethod method, string path, string? body = null, string? token = Token)
    {
        var request = new HttpRequestMessage(method, path);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null) request.Content = Json(body);
        return request;
    }

    /// <summary>Submits this node's default job (or <paramref name="spec"/>) with the token and returns its id.</summary>
    public async Task<string> SubmitAsync(JobSpec? spec = null)
    {
        using var response = await Client.SendAsync(Request(HttpMethod.Post, "/jobs", (spec ?? Spec()).ToJson()));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"submit answered {(int)response.StatusCode}: {text}");
        return JsonSerializer.Deserialize<SubmittedJob>(text, ApiJson.Options)!.JobId;
    }

    public async Task<JobView> JobAsync(string path = "/jobs/current")
    {
        var view = await Client.GetFromJsonAsync<JobView>(path, ApiJson.Options);
        return view!;
    }

    /// <summary>Polls until <paramref name="done"/> holds for the current job, or fails the test after <paramref name="timeout"/>.</summary>
    public async Task<JobView> WaitForAsync(Func<JobView, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        JobView last;
        do
        {
            last = await JobAsync();
            if (done(last)) return last;
            await Task.Delay(100);
        } while (DateTime.UtcNow < deadline);
        throw new TimeoutException($"{what} did not happen within {timeout.TotalSeconds} s; last status: state {last.State}, " +
                                   $"{last.ImagesDone}/{last.Images} images, error {last.Error}");
    }

    /// <summary>Waits until the coordinator hears from <paramref name="count"/> workers (a joining node asks for work first).</summary>
    public async Task WaitForWorkersAsync(int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            var workers = await Client.GetFromJsonAsync<WorkerView[]>("/workers", ApiJson.Options);
            if (workers!.Length >= count) return;
            await Task.Delay(100);
        }
        throw new TimeoutException($"the coordinator did not hear from {count} workers within 30 s");
    }

    /// <summary>Waits until the node has joined (readyz 200), which the API tests need before they submit.</summary>
    public async Task WaitReadyAsync(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (DateTime.UtcNow < deadline)
        {
            using var response = await Client.GetAsync("/readyz");
            if (response.StatusCode == HttpStatusCode.OK) return;
            await Task.Delay(100);
        }
        throw new TimeoutException("the node did not join its cluster within 20 s");
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _host.StopAsync(CancellationToken.None);
        _host.Dispose();
        try { Directory.Delete(_workDir, recursive: true); }
        catch (IOException) { /* a worker may still be closing a part; the temp folder is cleaned by the OS */ }
    }
}
