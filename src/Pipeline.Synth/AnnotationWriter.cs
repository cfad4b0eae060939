using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Pipeline.Storage;

namespace Pipeline.Synth;

/// <summary>
/// Writes the release's five COCO-style JSON files from a plan, streaming with <see cref="Utf8JsonWriter"/> (no object
/// graph). Each file goes to a temporary name first and is renamed when complete, so a crash never leaves a JSON file
/// that parses but is cut short.
/// </summary>
internal static class AnnotationWriter
{
    public const string TrainFile = "train2017.json";
    public const string ValFile = "val2017.json";
    public const string TestFile = "test2017.json";
    public const string TrainBoxesFile = "train_2017_bboxes.json";
    public const string ValBoxesFile = "val_2017_bboxes.json";

    public static readonly string[] Files = [TrainFile, ValFile, TestFile, TrainBoxesFile, ValBoxesFile];

    private static readonly JsonEncodedText Id = JsonEncodedText.Encode("id");
    private static readonly JsonEncodedText Width = JsonEncodedText.Encode("width");
    private static readonly JsonEncodedText Height = JsonEncodedText.Encode("height");
    private static readonly JsonEncodedText FileName = JsonEncodedText.Encode("file_name");
    private static readonly JsonEncodedText License = JsonEncodedText.Encode("license");
    private static readonly JsonEncodedText RightsHolder = JsonEncodedText.Encode("rights_holder");
    private static readonly JsonEncodedText ImageId = JsonEncodedText.Encode("image_id");
    private static readonly JsonEncodedText CategoryId = JsonEncodedText.Encode("category_id");
    private static readonly JsonEncodedText Bbox = JsonEncodedText.Encode("bbox");
    private static readonly JsonEncodedText Area = JsonEncodedText.Encode("area");
    private static readonly JsonEncodedText IsCrowd = JsonEncodedText.Encode("iscrowd");

    // UTF-8 species names (×, accents) stay readable; the files are data, never embedded in HTML
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void WriteAll(CorpusPlan plan, IProgress<SynthProgress>? progress, CancellationToken cancellation)
    {
        Directory.CreateDirectory(plan.Options.OutDir);
        int done = 0;
        foreach (string file in Files)
        {
            cancellation.ThrowIfCancellationRequested();
            WriteFile(plan, file);
            progress?.Report(new SynthProgress(SynthPhase.Annotations, ++done, Files.Length));
        }
    }

    private static void WriteFile(CorpusPlan plan, string file)
    {
        string path = Path.Combine(plan.Options.OutDir, file);
        DurableFiles.Write(path, stream =>
        {
            using var json = new Utf8JsonWriter(stream, WriterOptions);
            json.WriteStartObject();
            WriteInfo(json, plan.Options, file);
            WriteLicenses(json);
            switch (file)
            {
                case TrainFile: WriteLabelled(json, plan, SplitKind.Train); break;
                case ValFile: WriteLabelled(json, plan, SplitKind.Val); break;
                case TestFile: WriteTest(json, plan); break;
                case TrainBoxesFile: WriteBoxes(json, plan, SplitKind.Train); break;
                case ValBoxesFile: WriteBoxes(json, plan, SplitKind.Val); break;
            }

            json.WriteEndObject();
        });
    }

    private static void WriteInfo(Utf8JsonWriter json, SynthOptions options, string file)
    {
        json.WriteStartObject("info");
        json.WriteString("description", string.Create(CultureInfo.InvariantCulture,
            $"iNat2017-shaped synthetic corpus ({file}): scale {options.Scale:R}, seed {options.Seed}, max side {options.MaxSide} px; real species names, generated pictures"));
        json.WriteString("url", "https://github.com/visipedia/inat_comp");
        json.WriteString("version", "1.0-synthetic");
        json.WriteNumber("year", 2017);
        json.WriteString("contributor", "pipeline synth");
        // a fixed date: the bytes must depend on the options only, never on the clock
        json.WriteString("date_created", "2017-04-01 00:00:00");
        json.WriteEndObject();
    }

    private static void WriteLicenses(Utf8JsonWriter json)
    {
        json.WriteStartArray("licenses");
        foreach (var license in CorpusPlanner.Licenses)
        {
            json.WriteStartObject();
            json.WriteNumber(Id, license.Id);
            json.WriteString("name", license.Name);
            json.WriteString("url", license.Url);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static void WriteLabelled(Utf8JsonWriter json, CorpusPlan plan, SplitKind split)
    {
        WriteImages(json, plan, split, boxedOnly: false);
        WriteCategories(json, plan, boxedOnly: false);
        json.WriteStartArray("annotations");
        foreach (ref readonly PlannedImage image in plan.Images.AsSpan())
        {
            if (image.Split != split) continue;
            json.WriteStartObject();
            // one label per image: the label annotation shares the image's id
            json.WriteNumber(Id, image.Id);
            json.WriteNumber(ImageId, image.Id);
            json.WriteNumber(CategoryId, plan.Classes[image.ClassIndex].Species.Id);
            json.WriteEndObject();
            FlushWhenFull(json);
        }

        json.WriteEndArray();
    }

    private static void WriteTest(Utf8JsonWriter json, CorpusPlan plan)
    {
        WriteImages(json, plan, SplitKind.Test, boxedOnly: false);
        WriteCategories(json, plan, boxedOnly: false);
    }

    private static void WriteBoxes(Utf8JsonWriter json, CorpusPlan plan, SplitKind split)
    {
        WriteImages(json, plan, split, boxedOnly: true);
        WriteCategories(json, plan, boxedOnly: true);
        json.WriteStartArray("annotations");
        foreach (ref readonly PlannedImage image in plan.Images.AsSpan())
        {
            if (image.Split != split) continue;
            int categoryId = plan.Classes[image.ClassIndex].Species.Id;
            for (int b = image.FirstBox; b < image.FirstBox + image.BoxCount; b++)
            {
                PixelBox box = plan.Boxes[b];
                json.WriteStartObject();
                json.WriteNumber(Id, CorpusPlan.BoxId(b));
                json.WriteNumber(ImageId, image.Id);
                json.WriteNumber(CategoryId, categoryId);
                json.WriteStartArray(Bbox);
                json.WriteNumberValue(box.X);
                json.WriteNumberValue(box.Y);
                json.WriteNumberValue(box.Width);
                json.WriteNumberValue(box.Height);
                json.WriteEndArray();
                // the 2017 release's area is half of width x height
                json.WriteNumber(Area, box.Width * (double)box.Height / 2.0);
                json.WriteNumber(IsCrowd, 0);
                json.WriteEndObject();
            }

            FlushWhenFull(json);
        }

        json.WriteEndArray();
    }

    private static void WriteImages(Utf8JsonWriter json, CorpusPlan plan, SplitKind split, bool boxedOnly)
    {
        Span<char> fileName = stackalloc char[CorpusPlan.MaxFileNameLength];
        Span<char> holder = stackalloc char[32];
        json.WriteStartArray("images");
        foreach (ref readonly PlannedImage image in plan.Images.AsSpan())
        {
            if (image.Split != split || (boxedOnly && image.BoxCount == 0)) continue;
            json.WriteStartObject();
            json.WriteNumber(Id, image.Id);
            json.WriteNumber(Width, image.Width);
            json.WriteNumber(Height, image.Height);
            json.WriteString(FileName, fileName[..plan.WriteFileName(image, fileName)]);
            json.WriteNumber(License, image.License);
            json.WriteString(RightsHolder, holder[..WriteObserver(image.Observer, holder)]);
            json.WriteEndObject();
            FlushWhenFull(json);
        }

        json.WriteEndArray();
    }

    /// <summary>Utf8JsonWriter keeps everything in memory until flushed: flush every megabyte to keep memory flat.</summary>
    private static void FlushWhenFull(Utf8JsonWriter json)
    {
        if (json.BytesPending >= FlushThreshold) json.Flush();
    }

    private const int FlushThreshold = 1 << 20;

    private static int WriteObserver(int observer, Span<char> destination)
    {
        const string prefix = "observer_";
        prefix.AsSpan().CopyTo(destination);
        observer.TryFormat(destination[prefix.Length..], out int written, "D5", CultureInfo.InvariantCulture);
        return prefix.Length + written;
    }

    private static void WriteCategories(Utf8JsonWriter json, CorpusPlan plan, bool boxedOnly)
    {
        json.WriteStartArray("categories");
        foreach (PlannedClass planned in plan.Classes)
        {
            if (boxedOnly && !planned.Species.Boxed) continue;
            json.WriteStartObject();
            json.WriteNumber(Id, planned.Species.Id);
            json.WriteString("name", planned.Species.Name);
            json.WriteString("supercategory", planned.Species.Supercategory);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }
}
