using System.Collections.Frozen;
using System.Runtime.Serialization;
using System.Text.Json;
using Akka.Actor;
using Akka.Serialization;
using Pipeline.Jobs;

namespace Pipeline.Cluster.Protocol;

/// <summary>
/// System.Text.Json for every <see cref="IPipelineMessage"/>, with the record's short name as manifest. Not the
/// Newtonsoft default, and not Hyperion: the wire format is plain JSON that an operator can read, and an unknown
/// manifest throws <see cref="SerializationException"/>.
/// </summary>
public sealed class PipelineMessageSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    private static readonly FrozenDictionary<string, Type> TypesByManifest = typeof(IPipelineMessage).Assembly
        .GetTypes()
        .Where(t => typeof(IPipelineMessage).IsAssignableFrom(t) && t is { IsClass: true, IsAbstract: false })
        .ToFrozenDictionary(t => t.Name, t => t);

    public override int Identifier => 4217;

    public override string Manifest(object o) =>
        o is IPipelineMessage ? o.GetType().Name : throw new ArgumentException($"not a pipeline message: {o.GetType()}");

    public override byte[] ToBinary(object obj) => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), JobJson.Compact);

    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!TypesByManifest.TryGetValue(manifest, out var type))
            throw new SerializationException($"unknown pipeline message manifest '{manifest}'");
        return JsonSerializer.Deserialize(bytes, type, JobJson.Compact)
               ?? throw new SerializationException($"empty payload for '{manifest}'");
    }
}
