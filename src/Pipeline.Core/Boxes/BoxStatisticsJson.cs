using System.Text.Json.Serialization;

namespace Pipeline.Boxes;

/// <summary>Source-generated System.Text.Json metadata for the box statistics, for a trimming-safe wire format.</summary>
[JsonSerializable(typeof(BoxSizeHistogram))]
[JsonSerializable(typeof(BoxSizeHistogramSet))]
public sealed partial class BoxStatisticsJson : JsonSerializerContext;
