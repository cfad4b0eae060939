using Akka.Actor;
using Akka.Configuration;
using Pipeline.Cluster.Protocol;
using Pipeline.Processing;

namespace Pipeline.Tests.Cluster;

public sealed class StageFiguresSerializerTests : IDisposable
{
    private readonly ActorSystem _system = ActorSystem.Create("stage-figures-test", ConfigurationFactory.ParseString("""
        akka.actor.serializers.pipeline = "Pipeline.Cluster.Protocol.PipelineMessageSerializer, Pipeline.Cluster"
        akka.actor.serialization-bindings."Pipeline.Cluster.Protocol.IPipelineMessage, Pipeline.Cluster" = pipeline
        """));

    public void Dispose() => _system.Terminate().Wait(TimeSpan.FromSeconds(10));

    [Fact]
    public void Heartbeat_with_stage_figures_round_trips_through_the_pipeline_serializer()
    {
        var figures = new StageFigures(
        [
            new StageFigure(StageFigures.Read, 2, 0.5, 3000, 12, 10),
            new StageFigure(StageFigures.Decode, 16, 150.0, 2990, 128, 10),
            new StageFigure(StageFigures.Embed, 1, 4.0, 2980, 300, 10),
            new StageFigure(StageFigures.Write, 1, 1.0, 2980, 3, 10),
        ]);
        var beat = new WorkerHeartbeat("w1", ["worker", "gpu"], [new HeldPartition("j", "p", 1, 5)], 2980, 298) { Stages = figures };

        var serializer = _system.Serialization.FindSerializerFor(beat);
        Assert.IsType<PipelineMessageSerializer>(serializer);
        var manifest = ((Akka.Serialization.SerializerWithStringManifest)serializer).Manifest(beat);
        var back = (WorkerHeartbeat)_system.Serialization.Deserialize(serializer.ToBinary(beat), serializer.Identifier, manifest);

        Assert.NotNull(back.Stages);
        Assert.Equal(figures.Stages, back.Stages.Stages); // StageFigure is a record of scalars: value equality
        Assert.Equal(StageFigures.Decode, back.Stages.Bottleneck); // 150 s over 16 threads of 10 s: 94 % busy
        Assert.Equal(299, back.Stages.Stages[1].ImagesPerSecond, 6);
    }

    [Fact]
    public void Heartbeat_without_stage_figures_still_round_trips()
    {
        var beat = new WorkerHeartbeat("w1", ["worker"], [], 0, 0);
        var serializer = _system.Serialization.FindSerializerFor(beat);
        var manifest = ((Akka.Serialization.SerializerWithStringManifest)serializer).Manifest(beat);
        var back = (WorkerHeartbeat)_system.Serialization.Deserialize(serializer.ToBinary(beat), serializer.Identifier, manifest);
        Assert.Null(back.Stages);
    }
}
