using System.Text.Encodings.Web;
using System.Text.Json;
using Pipeline.Corpus;

namespace Pipeline.Tests.Corpus;

/// <summary>
/// Random corpora written by an independent JSON writer (indented or not, with unknown fields of every shape, long
/// strings that straddle the reader's buffer boundaries, annotations before or after images) read back exactly.
/// </summary>
public class CorpusRoundTripTests
{
    private sealed record Truth(long Id, string FileName, int Width, int Height, int CategoryId, List<BoxAnnotation> Boxes);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void A_generated_corpus_reads_back_exactly_in_file_order(int seed)
    {
        var random = new Random(seed);
        bool indented = seed % 2 == 0, annotationsFirst = seed % 3 == 0;
        string[] supers = ["Plantae", "Aves", "Insecta"];
        var categories = new List<Category>();
        for (int c = 0; c < 30; c++)
            categories.Add(new Category(1000 + c * 7, $"Genus{c} × species {new string('é', random.Next(0, 3))}", supers[c % 3]));

        var truth = new List<Truth>();
        long nextId = random.NextInt64(0, 1L << 40);
        int imageCount = 1500 + random.Next(500);
        for (int i = 0; i < imageCount; i++)
        {
            nextId += 1 + random.Next(3);
            Category category = categories[random.Next(categories.Count)];
            truth.Add(new Truth(nextId, $"train_val_images/{category.Supercategory}/{category.Name}/{random.NextInt64():x16}.jpg",
                100 + random.Next(700), 100 + random.Next(700), category.Id, []));
        }
        var boxes = new List<(long ImageId, int CategoryId, BoxAnnotation Box)>();
        long boxId = 5;
        for (int b = 0; b < imageCount; b++)
        {
            Truth image = truth[random.Next(truth.Count)];
            double w = 1 + Math.Round(random.NextDouble() * (image.Width - 2), 1), h = 1 + Math.Round(random.NextDouble() * (image.Height - 2), 1);
            var box = new BoxAnnotation(boxId += 1 + random.Next(5), Math.Floor(random.NextDouble() * (image.Width - w)),
                Math.Floor(random.NextDouble() * (image.Height - h)), w, h);
            image.Boxes.Add(box);
            boxes.Add((image.Id, image.CategoryId, box));
        }

        using var corpus = new TempCorpus();
        WriteLabelFile(Path.Combine(corpus.Root, CorpusReader.TrainFileName), truth, categories, random, indented, annotationsFirst);
        WriteBoxFile(Path.Combine(corpus.Root, CorpusReader.TrainBoxesFileName), boxes, categories, random, indented);
        CorpusReader reader = corpus.Reader();

        CorpusImage[] images = reader.ReadImages(Splits.Train).ToArray();

        Assert.Equal(0, reader.Issues.Total);
        Assert.Equal(categories.OrderBy(c => c.Id), reader.Categories);
        Assert.Equal(truth.Count, images.Length);
        for (int i = 0; i < truth.Count; i++)
        {
            Truth expected = truth[i];
            CorpusImage actual = images[i];
            Assert.Equal((expected.Id, expected.FileName, expected.Width, expected.Height, expected.CategoryId, Splits.Train),
                (actual.Id, actual.FileName, actual.Width, actual.Height, actual.CategoryId, actual.Split));
            Assert.Equal(expected.Boxes, actual.Boxes);
        }
    }

    private static Utf8JsonWriter Writer(Stream stream, bool indented) =>
        new(stream, new JsonWriterOptions { Indented = indented, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    private static void WriteLabelFile(string path, List<Truth> images, List<Category> categories, Random random,
        bool indented, bool annotationsFirst)
    {
        using FileStream stream = File.Create(path);
        using Utf8JsonWriter json = Writer(stream, indented);
        json.WriteStartObject();
        WriteNoise(json, random, "info");
        if (annotationsFirst)
            WriteLabels(json, images, random);
        json.WriteStartArray("images");
        foreach (Truth image in images)
        {
            json.WriteStartObject();
            if (random.Next(4) == 0)
                WriteNoise(json, random, "meta");
            json.WriteString("file_name", image.FileName);
            json.WriteNumber("width", image.Width);
            if (random.Next(40) == 0)
                json.WriteString("rights_holder", new string('x', random.Next(70_000)));   // longer than the read buffer
            json.WriteNumber("height", image.Height);
            json.WriteNumber("id", image.Id);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        if (!annotationsFirst)
            WriteLabels(json, images, random);
        WriteCategories(json, categories, random);
        json.WriteEndObject();
    }

    private static void WriteLabels(Utf8JsonWriter json, List<Truth> images, Random random)
    {
        json.WriteStartArray("annotations");
        long id = random.Next(1000);
        foreach (Truth image in images)
        {
            json.WriteStartObject();
            json.WriteNumber("image_id", image.Id);
            json.WriteNumber("id", id += 1 + random.Next(1000));
            if (random.Next(5) == 0)
                WriteNoise(json, random, "extra");
            json.WriteNumber("category_id", image.CategoryId);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    private static void WriteBoxFile(string path, List<(long ImageId, int CategoryId, BoxAnnotation Box)> boxes,
        List<Category> categories, Random random, bool indented)
    {
        using FileStream stream = File.Create(path);
        using Utf8JsonWriter json = Writer(stream, indented);
        json.WriteStartObject();
        WriteCategories(json, categories, random);
        json.WriteStartArray("annotations");
        foreach ((long imageId, int categoryId, BoxAnnotation box) in boxes)
        {
            json.WriteStartObject();
            json.WriteNumber("id", box.Id);
            json.WriteStartArray("bbox");
            json.WriteNumberValue(box.X);
            json.WriteNumberValue(box.Y);
            json.WriteNumberValue(box.Width);
            json.WriteNumberValue(box.Height);
            json.WriteEndArray();
            json.WriteNumber("area", box.Width * box.Height / 2.0);
            json.WriteNumber("image_id", imageId);
            json.WriteNumber("iscrowd", 0);
            json.WriteNumber("category_id", categoryId);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteCategories(Utf8JsonWriter json, List<Category> categories, Random random)
    {
        json.WriteStartArray("categories");
        foreach (Category category in categories)
        {
            json.WriteStartObject();
            json.WriteString("kingdom", "Animalia");
            json.WriteNumber("id", category.Id);
            json.WriteString("name", category.Name);
            if (random.Next(3) == 0)
                WriteNoise(json, random, "taxonomy");
            json.WriteString("supercategory", category.Supercategory);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    /// <summary>An unknown field holding nested objects, arrays and scalars of every JSON type.</summary>
    private static void WriteNoise(Utf8JsonWriter json, Random random, string name)
    {
        json.WritePropertyName(name);
        WriteNoiseValue(json, random, depth: 0);
    }

    private static void WriteNoiseValue(Utf8JsonWriter json, Random random, int depth)
    {
        switch (depth > 3 ? random.Next(5) : random.Next(7))
        {
            case 0: json.WriteNullValue(); break;
            case 1: json.WriteBooleanValue(random.Next(2) == 0); break;
            case 2: json.WriteNumberValue(random.NextDouble() * 1e6 - 5e5); break;
            case 3: json.WriteStringValue("images \"quoted\" \\ × " + random.Next()); break;
            case 4: json.WriteNumberValue(random.NextInt64()); break;
            case 5:
                json.WriteStartArray();
                for (int i = random.Next(4); i > 0; i--)
                    WriteNoiseValue(json, random, depth + 1);
                json.WriteEndArray();
                break;
            default:
                json.WriteStartObject();
                for (int i = random.Next(4); i > 0; i--)
                {
                    json.WritePropertyName(i % 2 == 0 ? "images" : "annotations");
                    WriteNoiseValue(json, random, depth + 1);
                }
                json.WriteEndObject();
                break;
        }
    }
}
