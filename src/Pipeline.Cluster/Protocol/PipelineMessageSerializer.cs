using System.Runtime.Serialization;
using System.Text.Json;
using Akka.Actor;
using Akka.Serialization;
using Pipeline.Jobs;

namespace Pipeline.Cluster.Protocol;

/// <summary>
/// System.Text.Json for every <see cref="IPipelineMessage"/>, under the fixed manifests of <see cref="WireFormat"/>. Not
/// the Newtonsoft default, and not Hyperion: the wire format is plain JSON that an operator can read, commits travel as
/// <see cref="CommitRecord"/> (the journal's format), and an unknown manifest or a payload that does not read throws
/// <see cref="SerializationException"/> naming the manifest.
/// </summary>
public sealed class PipelineMessageSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public override int Identifier => WireFormat.SerializerId;

    public override string Manifest(object o) =>
        WireFormat.Manifests.TryGetValue(o.GetType(), out var manifest)
            ? manifest
            : throw new SerializationException($"{o.GetType()} has no manifest in {nameof(WireFormat)}: it cannot cross nodes");

    public override byte[] ToBinary(object obj)
    {
        Manifest(obj); // a type without a manifest could be written but never read back
        return JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), FormatJson.Options);
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!WireFormat.Types.TryGetValue(manifest, out var type))
            throw new SerializationException(
                $"unknown pipeline message manifest '{manifest}': this node speaks {string.Join(", ", WireFormat.Versions)}; every node of a cluster must run the same wire version");
        try
        {
            return JsonSerializer.Deserialize(bytes, type, FormatJson.Options)
                   ?? throw new SerializationException($"empty payload for '{manifest}'");
        }
        catch (JsonException e)
        {
            throw new SerializationException($"payload of '{manifest}' does not read: {e.Message}", e);
        }
    }
}
