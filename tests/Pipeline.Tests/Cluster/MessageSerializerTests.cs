using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Configuration;
using Pipeline.Cluster.Protocol;
using Pipeline.Jobs;
using Pipeline.Processing;

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
    public void Unknown_manifest_is_a_serialization_error()
    {
        var serializer = new PipelineMessageSerializer((ExtendedActorSystem)_system);
        Assert.Throws<SerializationException>(() => serializer.FromBinary("{}"u8.ToArray(), "NoSuchMessage"));
    }
}
