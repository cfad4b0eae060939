namespace Pipeline.Imaging;

/// <summary>Finds a decode backend by the name <c>--decoder</c> gives.</summary>
public static class DecoderRegistry
{
    /// <summary>Skia: 609 against ImageSharp's 429 images/s per core on 800 px photos, 313 against 247 with a stored copy (bench/results/imaging.md).</summary>
    public const string DefaultName = SkiaDecoder.DecoderName;

    public static IReadOnlyList<string> Names { get; } = [ImageSharpDecoder.DecoderName, SkiaDecoder.DecoderName];

    /// <summary>The decoder named <paramref name="name"/> (case-insensitive); null or empty gives the default.</summary>
    /// <exception cref="ArgumentException">No decoder has that name; the message lists the names there are.</exception>
    public static IImageDecoder Create(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
            name = DefaultName;
        if (string.Equals(name, ImageSharpDecoder.DecoderName, StringComparison.OrdinalIgnoreCase))
            return new ImageSharpDecoder();
        if (string.Equals(name, SkiaDecoder.DecoderName, StringComparison.OrdinalIgnoreCase))
            return new SkiaDecoder();
        throw new ArgumentException($"unknown decoder '{name}'; known decoders: {string.Join(", ", Names)}", nameof(name));
    }
}
