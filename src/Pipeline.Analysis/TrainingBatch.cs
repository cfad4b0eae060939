using System.Buffers;
using Pipeline.Schema;

namespace Pipeline.Analysis;

/// <summary>
/// What <see cref="DatasetReader"/> reads, and how it shuffles. Memory is bounded by
/// <see cref="ShuffleWindow"/> row groups (tens of MB each in a merged dataset) plus one batch.
/// </summary>
public sealed record DatasetReaderOptions
{
    /// <summary>Rows per batch; the last batch of an epoch may be smaller unless <see cref="DropLast"/>.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>Splits to read (e.g. ["train"]); null reads every split.</summary>
    public IReadOnlyList<string>? Splits { get; init; }

    /// <summary>Super-classes to read (e.g. ["Aves", "Reptilia"]); null reads all.</summary>
    public IReadOnlyList<string>? Supercategories { get; init; }

    /// <summary>False reads in file and row order (evaluation); true shuffles row groups across files, then rows.</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Same seed and epoch, same order; each epoch of one seed has its own order.</summary>
    public int Seed { get; init; }

    /// <summary>Row groups whose rows are mixed together before batching: larger mixes better and holds more memory.</summary>
    public int ShuffleWindow { get; init; } = 4;

    /// <summary>Read the embedding column into <see cref="TrainingBatch.Embeddings"/>.</summary>
    public bool Embeddings { get; init; } = true;

    /// <summary>Read the boxes column into <see cref="TrainingBatch.Boxes"/>.</summary>
    public bool Boxes { get; init; } = true;

    /// <summary>
    /// Decode the stored JPEG copy (a job run with <c>--store-images</c>) into a <see cref="PixelSize"/>² centre crop of
    /// its shorter-side resize, RGB HWC bytes; null reads no pixels (and not the image column).
    /// </summary>
    public int? PixelSize { get; init; }

    /// <summary>Decoder for the stored copies (<c>skia</c> or <c>imagesharp</c>); null is the default.</summary>
    public string? Decoder { get; init; }

    /// <summary>Cores that decode one batch's pixels.</summary>
    public int DecodeThreads { get; init; } = Environment.ProcessorCount;

    /// <summary>Leave out an epoch's last, short batch (constant batch shapes for a training step).</summary>
    public bool DropLast { get; init; }

    public void Validate()
    {
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "batch size must be at least 1");
        if (ShuffleWindow < 1) throw new ArgumentOutOfRangeException(nameof(ShuffleWindow), ShuffleWindow, "shuffle window must be at least 1 row group");
        if (PixelSize is < 1 or > 4096) throw new ArgumentOutOfRangeException(nameof(PixelSize), PixelSize, "pixel size must be 1..4096");
        if (DecodeThreads < 1) throw new ArgumentOutOfRangeException(nameof(DecodeThreads), DecodeThreads, "decode threads must be at least 1");
        if (!Embeddings && !Boxes && PixelSize is null)
            throw new ArgumentException("read at least one of embeddings, boxes or pixels");
    }
}

/// <summary>
/// A batch of training rows. Row i's label is <c>Labels[i]</c> (see <see cref="DatasetClasses"/>); its embedding is
/// <c>Embeddings.Slice(i * EmbeddingDimension, EmbeddingDimension)</c>; its pixels are
/// <c>Pixels.Slice(i * PixelSize * PixelSize * 3, PixelSize * PixelSize * 3)</c>, RGB HWC bytes.
/// The embedding and pixel buffers are pooled: dispose the batch when the step is done and do not keep the memory.
/// </summary>
public sealed class TrainingBatch : IDisposable
{
    private float[]? _embeddings;
    private byte[]? _pixels;

    internal TrainingBatch(int count, int embeddingDimension, int pixelSize, bool boxes)
    {
        Count = count;
        ImageIds = new long[count];
        CategoryIds = new int[count];
        Labels = new int[count];
        Splits = new string[count];
        Supercategories = new string[count];
        EmbeddingDimension = embeddingDimension;
        PixelSize = pixelSize;
        if (embeddingDimension > 0)
            _embeddings = ArrayPool<float>.Shared.Rent(count * embeddingDimension);
        if (pixelSize > 0)
            _pixels = ArrayPool<byte>.Shared.Rent(count * PixelBytesPerRow);
        if (boxes)
        {
            Boxes = new BoxRow[count][];
            ResizedWidths = new int[count];
            ResizedHeights = new int[count];
            if (pixelSize > 0)
                PixelBoxes = new BoxRow[count][];
        }
    }

    public int Count { get; }
    public long[] ImageIds { get; }
    public int[] CategoryIds { get; }

    /// <summary>Dense labels 0..classes-1 in ascending category id (<see cref="DatasetReader.Classes"/>); -1 for an unlabelled image.</summary>
    public int[] Labels { get; }

    public string[] Splits { get; }
    public string[] Supercategories { get; }

    /// <summary>Length of one embedding; 0 when embeddings were not read.</summary>
    public int EmbeddingDimension { get; }

    /// <summary>Count × EmbeddingDimension floats, row-major.</summary>
    public Memory<float> Embeddings => _embeddings is null ? Memory<float>.Empty : _embeddings.AsMemory(0, Count * EmbeddingDimension);

    public ReadOnlySpan<float> EmbeddingOf(int row) => Embeddings.Span.Slice(row * EmbeddingDimension, EmbeddingDimension);

    /// <summary>Side of the square crop; 0 when pixels were not read.</summary>
    public int PixelSize { get; }

    public int PixelBytesPerRow => PixelSize * PixelSize * 3;

    /// <summary>Count × PixelSize × PixelSize × 3 bytes, RGB interleaved (NHWC).</summary>
    public Memory<byte> Pixels => _pixels is null ? Memory<byte>.Empty : _pixels.AsMemory(0, Count * PixelBytesPerRow);

    public ReadOnlySpan<byte> PixelsOf(int row) => Pixels.Span.Slice(row * PixelBytesPerRow, PixelBytesPerRow);

    /// <summary>Boxes as stored: pixels of the resized image (<see cref="ResizedWidths"/> × <see cref="ResizedHeights"/>).</summary>
    public BoxRow[][]? Boxes { get; }

    public int[]? ResizedWidths { get; }
    public int[]? ResizedHeights { get; }

    /// <summary>With pixels: the boxes in the crop's pixels, clipped to it; boxes wholly outside the crop are left out.</summary>
    public BoxRow[][]? PixelBoxes { get; }

    internal Span<float> EmbeddingBuffer(int row) => _embeddings.AsSpan(row * EmbeddingDimension, EmbeddingDimension);

    internal Span<byte> PixelBuffer(int row) => _pixels.AsSpan(row * PixelBytesPerRow, PixelBytesPerRow);

    public void Dispose()
    {
        if (_embeddings is not null) ArrayPool<float>.Shared.Return(_embeddings);
        if (_pixels is not null) ArrayPool<byte>.Shared.Return(_pixels);
        _embeddings = null;
        _pixels = null;
    }
}
