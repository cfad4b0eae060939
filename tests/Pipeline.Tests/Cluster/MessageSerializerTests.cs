using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Configuration;
using Pipeline.Cluster.Protocol;
using Pipeline.Jobs;

namespace Pipeline.Tests.Cluster;

public class MessageSerializerTests : IDisposable
{
    private readonly ActorSystem _system = ActorSystem.Create("serializer-test", ConfigurationFactory.ParseString("""
        akka.actor.serializers.pipeline = "Pipeline.Cluster.Protocol.PipelineMessageSerializer, Pipeline.Cluster"
        akka.actor.serialization-bindings."Pipeline.Cluster.Protocol.IPipelineMessage, Pipeline.Cluster" = pipeline
        """));

    public void Dispose() => _system.Terminate().Wait(TimeSpan.FromSeconds(10));

    private static readonly JobSpec Spec = new() { Corpus = "/data/corpus", Output = "/data/out", Model = "none" };

    [Fact]
    public void Messages_use_the_pipeline_serializer_and_round_trip()
    {
        var part = new Pipeline.Storage.PartCommit("train-Aves-00001", 2, "parts/train-Aves-00001/attempt-2.parquet",
            "parts/train-Aves-00001/attempt-2.errors.parquet", 990, 10, 12345, 678, "abc", "def");
        var outcome = new PartitionOutcome(part, "w1", new BoxHistogramData([1, 2, 3], 6, 1_500_000_000, 0.01, 0.9),
            [new ClassTally(7, "Turdus migratorius", 990, 1200)], new Dictionary<string, int> { ["Truncated"] = 10 }, 3, 3.5);
        object[] messages =
        [
            new SubmitJob(Spec),
            new RequestWork("w1", 2, ["worker", "gpu"]),
            new WorkAssigned("j", Spec, new PartitionInfo("train-Aves-00001", "train", "Aves", 1000, 1200), 2, DateTimeOffset.UnixEpoch),
            new PartitionCommitted("j", outcome),
            new WorkerHeartbeat("w1", ["worker"], [new HeldPartition("j", "p", 1, 5)], 10, 2.5),
            GetJobStatus.Instance,
        ];
        var serialization = _system.Serialization;
        foreach (var message in messages)
        {
            var serializer = serialization.FindSerializerFor(message);
            Assert.IsType<PipelineMessageSerializer>(serializer);
            var bytes = serializer.ToBinary(message);
            var manifest = ((Akka.Serialization.SerializerWithStringManifest)serializer).Manifest(message);
            var back = serialization.Deserialize(bytes, serializer.Identifier, manifest);
            // records with arrays compare by reference: compare their JSON instead
            Assert.Equal(System.Text.Json.JsonSerializer.Serialize(message, message.GetType()),
                System.Text.Json.JsonSerializer.Serialize(back, back.GetType()));
        }
    }

    [Fact]
    public void Job_control_messages_round_trip_with_their_enums_as_strings()
    {
        var status = new JobStatus("j", JobPhase.Merging, "/data/out", 4, 4, 0, 0, 40, 40, 38, 2, 1.5, null, 12, null, null,
            new Dictionary<string, int> { ["truncated-jpeg"] = 2 }, [new BoxHistogramSummary("train", "Aves", [1, 2], 3)],
            [new WorkerStatus("w1", ["worker"], 1, 20, 2.5, DateTimeOffset.UnixEpoch)])
        {
            Run = 3, Corpus = "/data/corpus", SubmittedAt = DateTimeOffset.UnixEpoch, StartedAt = DateTimeOffset.UnixEpoch,
            Waiting = "waiting for workers", Warning = "no worker",
        };
        object[] messages =
        [
            new JobAccepted("j", "/data/out", JobPhase.Queued, 2),
            new JobRejected("job j is merging", RejectionReason.Merging),
            new CancelJob("j"),
            new GetJob("j"),
            ListJobs.Instance,
            new JobList([status]),
            status,
            new CommitAck("j", "p", 1, CommitVerdict.Duplicate),
        ];
        var serialization = _system.Serialization;
        foreach (var message in messages)
        {
            var serializer = serialization.FindSerializerFor(message);
            Assert.IsType<PipelineMessageSerializer>(serializer);
            var bytes = serializer.ToBinary(message);
            var back = serialization.Deserialize(bytes, serializer.Identifier, ((Akka.Serialization.SerializerWithStringManifest)serializer).Manifest(message));
            Assert.Equal(System.Text.Json.JsonSerializer.Serialize(message, message.GetType()),
                System.Text.Json.JsonSerializer.Serialize(back, back.GetType()));
        }
        var json = System.Text.Encoding.UTF8.GetString(serialization.FindSerializerFor(status).ToBinary(status));
        Assert.Contains("\"state\":\"merging\"", json);
        Assert.Contains("\"verdict\":\"duplicate\"", System.Text.Encoding.UTF8.GetString(
            serialization.FindSerializerFor(messages[^1]).ToBinary(messages[^1])));
        Assert.Contains("\"kind\":\"merging\"", System.Text.Encoding.UTF8.GetString(
            serialization.FindSerializerFor(messages[1]).ToBinary(messages[1])));
    }

    [Fact]
    public void Unknown_manifest_is_a_serialization_error()
    {
        var serializer = new PipelineMessageSerializer((ExtendedActorSystem)_system);
        Assert.Throws<SerializationException>(() => serializer.FromBinary("{}"u8.ToArray(), "NoSuchMessage"));
    }
}
