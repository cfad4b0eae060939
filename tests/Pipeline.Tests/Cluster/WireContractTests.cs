using System.Runtime.Serialization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;
using Pipeline.Cluster.Protocol;
using Pipeline.Jobs;
using Pipeline.Processing;
using Pipeline.Storage;
using Pipeline.Tests.Kubernetes;

namespace Pipeline.Tests.Cluster;

/// <summary>
/// The wire contract: every message type has a fixed, versioned manifest, round-trips through the serializer that the
/// shipped cluster-config/base.conf binds, and writes exactly the payload pinned in Fixtures/wire-v1.json. A new message
/// without a manifest, a renamed record or property, or a changed serializer binding fails here. A deliberate change of
/// a message's JSON gets a new manifest version and a new fixture entry, never an edit of a pinned one.
/// </summary>
public sealed class WireContractTests : IDisposable
{
    private static readonly Config BaseConf = ConfigurationFactory.ParseString(File.ReadAllText(RepositoryTree.PathOf("cluster-config", "base.conf")));

    // the shipped serializer settings, on a local actor system (no cluster needed to serialize)
    private readonly ActorSystem _system = ActorSystem.Create("wire-contract",
        ConfigurationFactory.ParseString("akka.actor.provider = local\nakka.actor.serialize-messages = on").WithFallback(BaseConf));

    public void Dispose() => _system.Terminate().Wait(TimeSpan.FromSeconds(10));

    private static readonly JobSpec Spec = new()
    {
        Corpus = "/data/corpus", Output = "/data/out", Splits = ["train"], Model = "/models/m.onnx", ModelPreset = "imagenet-torchvision",
        Device = "cuda", FallbackCpu = true, Precision = "fp16", Decoder = "skia", ResizeShorter = 292, ImageSize = 256,
        StoreShorter = 128, StoreQuality = 85, PartitionSize = 500, BatchSize = 64, AllowNonEmptyOut = true,
    };

    private static readonly DateTimeOffset At = new(2026, 12, 4, 18, 0, 0, TimeSpan.Zero);

    private static readonly StageFigures Stages = new([new StageFigure(StageFigures.Decode, 2, 3.5, 70, 4, 5)]);

    private static readonly EmbeddingTime Embedding = new("cuda", 10, 7.5, 0.5);

    private static readonly JobStatus Status = new("0123456789abcdef", JobPhase.Running, "/data/out", 4, 1, 2, 1, 4000, 1500, 990, 10,
        25.5, 98.0, 60.0, null, null, new Dictionary<string, int> { ["Truncated"] = 10 },
        [new BoxHistogramSummary("train", "Aves", [1, 2, 3], 6)],
        [new WorkerStatus("worker-1", ["worker", "gpu"], 2, 1500, 25.5, At) { Embedding = Embedding, Stages = Stages }])
    {
        Run = 2, Corpus = "/data/corpus", SubmittedAt = At, StartedAt = At.AddSeconds(1), FinishedAt = null,
        Waiting = "waiting for workers", Warning = "no worker for 2 minutes",
        Events = [new JobEvent(At, "info", "started")], Throughput = [new ThroughputSample(At, 25.5, 10)],
    };

    private static readonly PartitionOutcome Outcome = new(
        new PartCommit("train-Aves-00001", 2, "parts/train-Aves-00001/attempt-2.parquet", "parts/train-Aves-00001/attempt-2.errors.parquet",
            990, 10, 12345, 678, "aa11", "bb22"),
        "worker-1", new BoxHistogramData([.. Enumerable.Repeat(0L, 49), 3], 3, 2_500_000_000, 0.75, 1.0),
        [new ClassTally(7, "Turdus migratorius", 990, 3)], new Dictionary<string, int> { ["Truncated"] = 10 }, 1, 3.5);

    /// <summary>One fully populated instance of every message type; a message type without one fails the contract.</summary>
    private static readonly IPipelineMessage[] Samples =
    [
        new SubmitJob(Spec),
        new JobAccepted("0123456789abcdef", "/data/out", JobPhase.Queued, 2),
        new JobRejected("job 0123456789abcdef is merging", RejectionReason.Merging),
        new CancelJob("current"),
        GetJobStatus.Instance,
        new GetJob("0123456789abcdef"),
        ListJobs.Instance,
        new JobList([Status]),
        Status,
        new RequestWork("worker-1", 2, ["worker", "gpu"]),
        new WorkAssigned("0123456789abcdef", Spec, new PartitionInfo("train-Aves-00001", "train", "Aves", 1000, 1200), 2, At),
        new WorkerHeartbeat("worker-1", ["worker"], [new HeldPartition("0123456789abcdef", "train-Aves-00001", 2, 500)], 1500, 25.5)
        {
            Embedding = Embedding, Stages = Stages,
        },
        new PartitionCommitted("0123456789abcdef", Outcome),
        new CommitAck("0123456789abcdef", "train-Aves-00001", 2, CommitVerdict.Duplicate),
        new PartitionFailed("0123456789abcdef", "train-Aves-00001", 2, "worker-1", "No space left on device"),
        new ReleasePartition("0123456789abcdef", "train-Aves-00001", 2, "worker-1"),
        new AbandonJob("0123456789abcdef"),
    ];

    /// <summary>Every concrete message type: the marker's implementations in every Pipeline assembly the tests ship with
    /// (the CLI's included, loaded or not yet).</summary>
    private static Type[] MessageTypes() =>
    [
        .. Directory.GetFiles(AppContext.BaseDirectory, "pipeline*.dll", new EnumerationOptions { MatchCasing = MatchCasing.CaseInsensitive })
            .Select(file => System.Reflection.AssemblyName.GetAssemblyName(file))
            .Where(name => name.Name != typeof(WireContractTests).Assembly.GetName().Name)
            .SelectMany(name => System.Reflection.Assembly.Load(name).GetTypes())
            .Where(t => typeof(IPipelineMessage).IsAssignableFrom(t) && t is { IsClass: true, IsAbstract: false }),
    ];

    private SerializerWithStringManifest Serializer(object message) =>
        Assert.IsType<PipelineMessageSerializer>(_system.Serialization.FindSerializerFor(message));

    [Fact]
    public void Every_message_type_has_a_fixed_versioned_manifest_and_a_sample()
    {
        var types = MessageTypes();
        Assert.Contains(typeof(SubmitJob), types); // the scan sees the protocol assembly
        var missing = types.Where(t => !WireFormat.Manifests.ContainsKey(t)).Select(t => t.FullName).ToArray();
        Assert.True(missing.Length == 0, $"message types without a manifest in WireFormat: {string.Join(", ", missing)}");
        Assert.Equal(types.OrderBy(t => t.FullName), WireFormat.Manifests.Keys.OrderBy(t => t.FullName));
        foreach (var manifest in WireFormat.Manifests.Values)
            Assert.Matches(new Regex(@"^pipeline\.v[1-9][0-9]*\.[A-Z][A-Za-z]+$"), manifest);
        Assert.Equal(WireFormat.Manifests.Count, WireFormat.Manifests.Values.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(types.OrderBy(t => t.FullName), Samples.Select(s => s.GetType()).OrderBy(t => t.FullName));
    }

    [Fact]
    public void Base_conf_binds_every_message_to_the_pipeline_serializer_under_its_id()
    {
        var actor = BaseConf.GetConfig("akka.actor");
        var serializerType = Type.GetType(actor.GetString("serializers.pipeline"), throwOnError: true);
        Assert.Equal(typeof(PipelineMessageSerializer), serializerType);
        var identifiers = actor.GetConfig("serialization-identifiers").AsEnumerable().ToArray();
        Assert.Equal(WireFormat.SerializerId, Assert.Single(identifiers).Value.GetInt());
        Assert.Equal(typeof(PipelineMessageSerializer), Type.GetType(Assert.Single(identifiers).Key.Trim('"'), throwOnError: true));
        Assert.Equal(WireFormat.SerializerId, new PipelineMessageSerializer((ExtendedActorSystem)_system).Identifier);

        // every type bound to the pipeline serializer is the marker, so each of its implementations needs a manifest
        var bound = actor.GetConfig("serialization-bindings").AsEnumerable()
            .Where(b => b.Value.GetString() == "pipeline")
            .Select(b => Type.GetType(b.Key.Trim('"'), throwOnError: true)!)
            .ToArray();
        Assert.Equal(typeof(IPipelineMessage), Assert.Single(bound));
        foreach (var type in MessageTypes())
            Assert.True(WireFormat.Manifests.ContainsKey(type), $"{type} is bound to the pipeline serializer but has no manifest");
    }

    [Fact]
    public void Every_message_round_trips_through_the_serializer_that_base_conf_binds()
    {
        foreach (var message in Samples)
        {
            var serializer = Serializer(message);
            var manifest = serializer.Manifest(message);
            Assert.Equal(WireFormat.Manifests[message.GetType()], manifest);
            var back = _system.Serialization.Deserialize(serializer.ToBinary(message), serializer.Identifier, manifest);
            Assert.IsType(message.GetType(), back);
            // records holding arrays compare by reference: compare what they write instead
            Assert.Equal(Json(message), Json(back));
        }
    }

    [Fact]
    public void Wire_payloads_match_the_pinned_version_1_fixture()
    {
        var fixture = JsonNode.Parse(File.ReadAllText(RepositoryTree.PathOf("tests", "Pipeline.Tests", "Fixtures", "wire-v1.json")))!.AsObject();
        Assert.Equal(WireFormat.Manifests.Values.Order(StringComparer.Ordinal), fixture.Select(p => p.Key).Order(StringComparer.Ordinal));
        foreach (var message in Samples)
        {
            var serializer = Serializer(message);
            var manifest = serializer.Manifest(message);
            var written = JsonNode.Parse(serializer.ToBinary(message));
            Assert.True(JsonNode.DeepEquals(fixture[manifest], written),
                $"{manifest} no longer writes its pinned payload: a wire change needs a new manifest version.\npinned:  {fixture[manifest]!.ToJsonString()}\nwritten: {written!.ToJsonString()}");
            // a payload as an earlier node of this version wrote it reads back to the same message
            var read = serializer.FromBinary(JsonSerializer.SerializeToUtf8Bytes(fixture[manifest]), manifest);
            Assert.Equal(Json(message), Json(read));
        }
    }

    [Fact]
    public void A_commit_travels_in_the_journal_format_not_the_domain_shape()
    {
        var message = new PartitionCommitted("j", Outcome);
        var json = JsonNode.Parse(Serializer(message).ToBinary(message))!["outcome"]!;
        Assert.True(JsonNode.DeepEquals(JsonSerializer.SerializeToNode(CommitRecord.From(Outcome), FormatJson.Options), json));
        Assert.Null(json["partition_id"]); // the domain's convenience properties stay off the wire
        Assert.Equal("train-Aves-00001", (string?)json["part"]!["partition_id"]);
    }

    [Theory]
    [InlineData("SubmitJob")] // the CLR name, as nodes before the versioned format wrote it
    [InlineData("pipeline.v2.SubmitJob")]
    [InlineData("pipeline.v1.NoSuchMessage")]
    public void An_unknown_manifest_is_a_serialization_error_that_names_it(string manifest)
    {
        var serializer = new PipelineMessageSerializer((ExtendedActorSystem)_system);
        var error = Assert.Throws<SerializationException>(() => serializer.FromBinary("""{"job_id":"j"}"""u8.ToArray(), manifest));
        Assert.Contains($"'{manifest}'", error.Message);
        Assert.Contains("pipeline.v1", error.Message);
    }

    [Fact]
    public void A_payload_that_does_not_read_is_a_serialization_error_that_names_its_manifest()
    {
        var serializer = new PipelineMessageSerializer((ExtendedActorSystem)_system);
        var error = Assert.Throws<SerializationException>(() => serializer.FromBinary("""{"job_id":"j","outcome":{"part":null}}"""u8.ToArray(), "pipeline.v1.PartitionCommitted"));
        Assert.Contains("'pipeline.v1.PartitionCommitted'", error.Message);
        Assert.Throws<SerializationException>(() => serializer.FromBinary("not json"u8.ToArray(), "pipeline.v1.AbandonJob"));
    }

    [Fact]
    public void A_type_without_a_manifest_is_refused_before_it_is_written()
    {
        var serializer = new PipelineMessageSerializer((ExtendedActorSystem)_system);
        var error = Assert.Throws<SerializationException>(() => serializer.ToBinary(new HeldPartition("j", "p", 1, 0)));
        Assert.Contains(nameof(HeldPartition), error.Message);
    }

    private static string Json(object value) => JsonSerializer.Serialize(value, value.GetType(), FormatJson.Options);
}
