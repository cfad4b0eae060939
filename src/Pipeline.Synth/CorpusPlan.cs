namespace Pipeline.Synth;

internal enum SplitKind : byte
{
    Train,
    Val,
    Test,
}

/// <summary>A species chosen for the corpus with its train and val image counts.</summary>
internal sealed record PlannedClass(Species Species, int SuperClassIndex, int TrainImages, int ValImages)
{
    /// <summary>The release's folder of this species, with the trailing slash: <c>train_val_images/&lt;super&gt;/&lt;species&gt;/</c>.</summary>
    public string Folder { get; } = $"train_val_images/{Species.Supercategory}/{Species.Name}/";
}

/// <summary>
/// One image of the plan. Test images carry a hidden class (what is drawn) that no JSON file reveals.
/// <see cref="NameHigh"/> and <see cref="NameLow"/> are the 128 bits of the 32-hex file name.
/// </summary>
internal struct PlannedImage
{
    public long Id;
    public int ClassIndex;
    public SplitKind Split;
    public int Width;
    public int Height;
    public int License;
    public int Observer;
    public ulong NameHigh;
    public ulong NameLow;
    public int FirstBox;
    public int BoxCount;
}

/// <summary>Everything the annotation writer and the image renderer need, decided up front in one thread.</summary>
internal sealed class CorpusPlan
{
    public required SynthOptions Options { get; init; }
    public required PlannedClass[] Classes { get; init; }
    public required PlannedImage[] Images { get; init; }
    public required PixelBox[] Boxes { get; init; }
    public required SuperClassSummary[] SuperClasses { get; init; }
    public int TrainImages { get; init; }
    public int ValImages { get; init; }
    public int TestImages { get; init; }

    /// <summary>Box annotation ids run 1.. in image id order, so they are unique across both box files.</summary>
    public static long BoxId(int boxIndex) => boxIndex + 1L;

    /// <summary>The release's relative file name, written into <paramref name="destination"/>; returns its length.</summary>
    public int WriteFileName(in PlannedImage image, Span<char> destination)
    {
        string folder = image.Split == SplitKind.Test ? TestFolder : Classes[image.ClassIndex].Folder;
        folder.AsSpan().CopyTo(destination);
        int at = folder.Length;
        WriteHex(image.NameHigh, destination.Slice(at, 16));
        WriteHex(image.NameLow, destination.Slice(at + 16, 16));
        ".jpg".AsSpan().CopyTo(destination.Slice(at + 32));
        return at + 36;
    }

    public string FileName(in PlannedImage image)
    {
        Span<char> buffer = stackalloc char[MaxFileNameLength];
        return new string(buffer[..WriteFileName(image, buffer)]);
    }

    /// <summary>Longest relative file name: folder + 32 hex + ".jpg" (species names are under 100 characters).</summary>
    public const int MaxFileNameLength = 512;

    /// <summary>The release keeps test images in their own flat folder.</summary>
    public const string TestFolder = "test2017/";

    private static void WriteHex(ulong value, Span<char> destination)
    {
        const string digits = "0123456789abcdef";
        for (int i = 15; i >= 0; i--)
        {
            destination[i] = digits[(int)(value & 0xF)];
            value >>= 4;
        }
    }
}
