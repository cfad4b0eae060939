using System.Diagnostics;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Pipeline.Jobs;
using Pipeline.Tests.Cluster;
using Pipeline.Tests.Reliability;
using Xunit.Abstractions;
using CorpusJsonFile = Pipeline.Tests.Synth.CorpusJsonFile;
using static Pipeline.Tests.Cluster.ClusterTestSupport;

namespace Pipeline.Tests.ContainerImages;

/// <summary>
/// The image built from docker/Dockerfile.cpu, run as a user would: a coordinator and two workers as containers on a
/// podman network, a job submitted through the coordinator's HTTP API with its token, one worker container stopped with
/// SIGTERM while it holds partitions. The job must still succeed with every image of the corpus exactly once, read back
/// by DuckDB. Driven by .ci/containers.sh, which builds the image first.
/// </summary>
[Trait("Category", "Containers")]
[Trait("Category", "Slow")]
public sealed class ContainerClusterTests(SmallCorpusFixture corpus, ITestOutputHelper log) : IClassFixture<SmallCorpusFixture>, IDisposable
{
    private const string DataInContainer = "/data/out";
    private const string CorpusInContainer = "/data/corpus";

    private readonly string _prefix = "pipeline-test-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
    private readonly string _work = Directory.CreateTempSubdirectory("pipeline-containers-").FullName;
    private readonly List<string> _containers = [];
    private string? _network;

    private string Output => Path.Combine(_work, "out");

    public void Dispose()
    {
        foreach (var container in _containers) Podman.Try("rm", "--force", "--time", "0", container);
        if (_network is not null) Podman.Try("network", "rm", "--force", _network);
        Directory.Delete(_work, recursive: true);
    }

    [ContainerFact]
    public async Task Job_through_the_api_survives_a_worker_stopped_with_sigterm_and_has_every_image_once()
    {
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        var (tokenFile, configFile) = PrepareVolumes(token);
        _network = _prefix + "-net";
        Podman.Run("network", "create", _network);

        var coordinator = _prefix + "-coordinator";
        var seed = $"akka.tcp://pipeline@{coordinator}:4053";
        StartNode(coordinator, ["--role", "coordinator", "--api", "http://0.0.0.0:8080"], seed,
            ["--publish", "127.0.0.1::8080", "--volume", $"{tokenFile}:/run/secrets/pipeline/api-token:ro",
             "--env", "PIPELINE_API_TOKEN_FILE=/run/secrets/pipeline/api-token"], configFile);
        string w1 = _prefix + "-w1", w2 = _prefix + "-w2";
        StartNode(w1, ["--role", "worker", "--name", "w1", "--threads", "1"], seed, [], configFile);
        StartNode(w2, ["--role", "worker", "--name", "w2", "--threads", "1"], seed, [], configFile);

        using var http = new HttpClient { BaseAddress = new Uri("http://" + Podman.Run("port", coordinator, "8080/tcp").Trim()) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        await WaitForAsync(http, "/workers", w => w.GetArrayLength() == 2, TimeSpan.FromMinutes(3));

        // the real ResNet-18 on one core per worker: slow enough that the stop lands mid-job
        var spec = new { corpus = CorpusInContainer, output = DataInContainer, model = "resnet18", partition_size = 12, batch_size = 8 };
        using var submitted = await http.PostAsync("/jobs", new StringContent(JsonSerializer.Serialize(spec), Encoding.UTF8, "application/json"));
        var submitBody = await submitted.Content.ReadAsStringAsync();
        Assert.True(submitted.StatusCode == System.Net.HttpStatusCode.Accepted, $"{(int)submitted.StatusCode} {submitBody}\n{Logs()}");
        var jobPath = submitted.Headers.Location!.OriginalString;

        // stop w1 once it has committed a partition and holds one it has not committed
        await WaitForAsync(http, jobPath, _ => HoldsUncommitted("w1") && Journal(Output).Any(e => e.Kind == JournalEntry.Committed && e.Worker == "w1"),
            TimeSpan.FromMinutes(4));
        var before = Journal(Output);
        var committedBefore = before.Where(e => e.Kind == JournalEntry.Committed).Select(e => e.PartitionId).ToHashSet();
        var held = before.Where(e => e.Kind == JournalEntry.Assign && e.Worker == "w1" && !committedBefore.Contains(e.PartitionId))
            .Select(e => e.PartitionId).ToHashSet();
        var clock = Stopwatch.StartNew();
        // SIGTERM, as Kubernetes sends it; SIGKILL only after 80 s (the pods' grace period is 90 s)
        Podman.Run(150, "stop", "--time", "80", w1);
        Assert.True(Podman.Inspect(w1, "{{.State.ExitCode}}") == "0",
            $"w1 did not leave cleanly on SIGTERM within {clock.Elapsed.TotalSeconds:F0} s:\n{Logs()}");
        log.WriteLine($"w1 stopped by SIGTERM holding [{string.Join(", ", held)}], exit 0 after {clock.Elapsed.TotalSeconds:F1} s");

        var finished = await WaitForAsync(http, jobPath, j => j.GetProperty("finished").GetBoolean(), TimeSpan.FromMinutes(6));
        Assert.True(finished.GetProperty("state").GetString() == "succeeded", finished.ToString() + "\n" + Logs());
        Assert.Equal(corpus.Images, finished.GetProperty("rows").GetInt64());

        // every image of the corpus exactly once, read back by DuckDB
        var dataset = Path.Combine(Output, "dataset");
        Assert.True(File.Exists(Path.Combine(dataset, "_SUCCESS")));
        var glob = Sql(Path.Combine(dataset, "images", "**", "*.parquet"));
        var ids = Pipeline.Tests.Storage.DuckDb.Query($"SELECT image_id FROM read_parquet('{glob}', hive_partitioning=true)")
            .Select(r => Convert.ToInt64(r[0])).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(CorpusImageIds(), ids.Order().ToList());

        // each partition w1 held at the stop was committed exactly once: by w1 while it drained, or redone by w2
        var journal = Journal(Output);
        Assert.NotEmpty(held);
        foreach (var partition in held)
        {
            var commit = Assert.Single(journal, e => e.Kind == JournalEntry.Committed && e.PartitionId == partition);
            Assert.Contains(commit.Worker, new[] { "w1", "w2" });
            log.WriteLine($"{partition} committed by {commit.Worker} (attempt {commit.Attempt})");
        }
        log.WriteLine($"{ids.Count} images once each; job {finished.GetProperty("elapsed_seconds").GetDouble():F1} s");
    }

    /// <summary>The corpus on a read-only volume, the output volume and the token owned by the image's user (uid 1654).</summary>
    private (string TokenFile, string ConfigFile) PrepareVolumes(string token)
    {
        Directory.CreateDirectory(Output);
        var tokenFile = Path.Combine(_work, "api-token");
        File.WriteAllText(tokenFile, token);
        var configFile = Path.Combine(_work, "test.conf");
        File.WriteAllText(configFile, FastFailureHocon);
        Podman.Host("chown", "1654:1654", Output, tokenFile);
        Podman.Host("chmod", "0400", tokenFile);
        Podman.Host("chmod", "-R", "a+rX", corpus.Root, configFile);
        return (tokenFile, configFile);
    }


    private void StartNode(string name, string[] nodeArgs, string seed, string[] podmanArgs, string configFile)
    {
        var args = new List<string>
        {
            "run", "--detach", "--name", name, "--hostname", name, "--network", _network!,
            "--volume", $"{corpus.Root}:{CorpusInContainer}:ro", "--volume", $"{Output}:{DataInContainer}",
            "--volume", $"{configFile}:/etc/pipeline-test/test.conf:ro",
        };
        args.AddRange(podmanArgs);
        args.Add(Podman.Image);
        args.AddRange(["node", "--hostname", "0.0.0.0", "--public-hostname", name, "--port", "4053", "--seed", seed,
                       "--config", "/etc/pipeline-test/test.conf"]);
        args.AddRange(nodeArgs);
        // nodes refuse to bind beyond loopback without TLS unless told --insecure, where the build has that option
        if (NodeHasInsecureOption.Value) args.Add("--insecure");
        _containers.Add(name);
        Podman.Run(args.ToArray());
    }

    private static readonly Lazy<bool> NodeHasInsecureOption =
        new(() => Podman.Run("run", "--rm", Podman.Image, "node", "--help").Contains("--insecure", StringComparison.Ordinal));

    private bool HoldsUncommitted(string worker)
    {
        if (!File.Exists(new JobPaths(Output).JournalFile)) return false;
        var journal = Journal(Output);
        var committed = journal.Where(e => e.Kind == JournalEntry.Committed).Select(e => e.PartitionId).ToHashSet();
        return journal.Any(e => e.Kind == JournalEntry.Assign && e.Worker == worker && !committed.Contains(e.PartitionId));
    }

    /// <summary>Polls an API path until <paramref name="condition"/> holds; fails with every container's log when a node exits or time runs out.</summary>
    private async Task<JsonElement> WaitForAsync(HttpClient http, string path, Func<JsonElement, bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var last = "";
        for (var poll = 0; DateTime.UtcNow < deadline; poll++)
        {
            try
            {
                using var response = await http.GetAsync(path);
                last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
                if (response.IsSuccessStatusCode)
                {
                    var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
                    if (condition(body)) return body;
                }
            }
            catch (HttpRequestException e)
            {
                last = e.Message; // the API is still starting
            }
            // a node that died ends the wait at once (asked every 2 s: each question is a podman process)
            if (poll % 8 == 7)
                foreach (var container in _containers)
                    if (Podman.Inspect(container, "{{.State.Status}}") == "exited" && !container.EndsWith("-w1", StringComparison.Ordinal))
                        throw new InvalidOperationException($"{container} exited early:\n{Logs()}");
            await Task.Delay(250);
        }
        throw new TimeoutException($"GET {path} never met the condition in {timeout}; last answer: {last}\n{Logs()}");
    }

    private string Logs() =>
        string.Join("\n", _containers.Select(c => $"---- {c}:\n{Podman.Try("logs", "--tail", "60", c).Output}"));

    private List<long> CorpusImageIds() =>
        new[] { "train2017.json", "val2017.json" }
            .SelectMany(file => CorpusJsonFile.Read(Path.Combine(corpus.Root, file)).Images.Select(i => i.Id))
            .Order().ToList();
}
