using System.Text.Json;

namespace Pipeline.Tests.Synth;

/// <summary>An image entry of a release JSON file.</summary>
public sealed record JsonImage(long Id, int Width, int Height, string FileName, int License, string RightsHolder);

/// <summary>A box annotation of a bbox JSON file.</summary>
public sealed record JsonBox(long Id, long ImageId, int CategoryId, double X, double Y, double W, double H, double Area, int IsCrowd);

/// <summary>One release JSON file read independently of the generator, with System.Text.Json's DOM.</summary>
public sealed class CorpusJsonFile
{
    public required List<JsonImage> Images { get; init; }
    public required Dictionary<int, (string Name, string Supercategory)> Categories { get; init; }
    public required Dictionary<long, int> Labels { get; init; }
    public required List<JsonBox> Boxes { get; init; }
    public required bool HasAnnotations { get; init; }
    public required bool HasInfo { get; init; }
    public required int LicenseCount { get; init; }

    public static CorpusJsonFile Read(string path)
    {
        using FileStream stream = File.OpenRead(path);
        using JsonDocument document = JsonDocument.Parse(stream);
        JsonElement root = document.RootElement;

        var images = new List<JsonImage>();
        foreach (JsonElement image in root.GetProperty("images").EnumerateArray())
        {
            images.Add(new JsonImage(
                image.GetProperty("id").GetInt64(),
                image.GetProperty("width").GetInt32(),
                image.GetProperty("height").GetInt32(),
                image.GetProperty("file_name").GetString()!,
                image.GetProperty("license").GetInt32(),
                image.GetProperty("rights_holder").GetString()!));
        }

        var categories = new Dictionary<int, (string, string)>();
        foreach (JsonElement category in root.GetProperty("categories").EnumerateArray())
        {
            categories.Add(category.GetProperty("id").GetInt32(),
                (category.GetProperty("name").GetString()!, category.GetProperty("supercategory").GetString()!));
        }

        var labels = new Dictionary<long, int>();
        var boxes = new List<JsonBox>();
        bool hasAnnotations = root.TryGetProperty("annotations", out JsonElement annotations);
        if (hasAnnotations)
        {
            foreach (JsonElement annotation in annotations.EnumerateArray())
            {
                long imageId = annotation.GetProperty("image_id").GetInt64();
                int categoryId = annotation.GetProperty("category_id").GetInt32();
                if (annotation.TryGetProperty("bbox", out JsonElement bbox))
                {
                    boxes.Add(new JsonBox(
                        annotation.GetProperty("id").GetInt64(), imageId, categoryId,
                        bbox[0].GetDouble(), bbox[1].GetDouble(), bbox[2].GetDouble(), bbox[3].GetDouble(),
                        annotation.GetProperty("area").GetDouble(), annotation.GetProperty("iscrowd").GetInt32()));
                }
                else
                {
                    labels.Add(imageId, categoryId);
                }
            }
        }

        return new CorpusJsonFile
        {
            Images = images,
            Categories = categories,
            Labels = labels,
            Boxes = boxes,
            HasAnnotations = hasAnnotations,
            HasInfo = root.TryGetProperty("info", out _),
            LicenseCount = root.GetProperty("licenses").GetArrayLength(),
        };
    }
}

/// <summary>The five files of a generated corpus.</summary>
public sealed class CorpusJson
{
    public required CorpusJsonFile Train { get; init; }
    public required CorpusJsonFile Val { get; init; }
    public required CorpusJsonFile Test { get; init; }
    public required CorpusJsonFile TrainBoxes { get; init; }
    public required CorpusJsonFile ValBoxes { get; init; }

    public static CorpusJson Read(string root) => new()
    {
        Train = CorpusJsonFile.Read(Path.Combine(root, "train2017.json")),
        Val = CorpusJsonFile.Read(Path.Combine(root, "val2017.json")),
        Test = CorpusJsonFile.Read(Path.Combine(root, "test2017.json")),
        TrainBoxes = CorpusJsonFile.Read(Path.Combine(root, "train_2017_bboxes.json")),
        ValBoxes = CorpusJsonFile.Read(Path.Combine(root, "val_2017_bboxes.json")),
    };

    /// <summary>The paper's Table 2 as the data README prints it: super-class, classes, train, val, boxes.</summary>
    public static readonly (string Name, int Classes, int Train, int Val, int Boxes)[] Table2 =
    [
        ("Plantae", 2101, 158407, 38206, 0),
        ("Insecta", 1021, 100479, 18076, 125679),
        ("Aves", 964, 214295, 21226, 311669),
        ("Reptilia", 289, 35201, 5680, 42351),
        ("Mammalia", 186, 29333, 3490, 35222),
        ("Fungi", 121, 5826, 1780, 0),
        ("Amphibia", 115, 15318, 2385, 18281),
        ("Mollusca", 93, 7536, 1841, 10821),
        ("Animalia", 77, 5228, 1362, 8536),
        ("Arachnida", 56, 4873, 1086, 5826),
        ("Actinopterygii", 53, 1982, 637, 3382),
        ("Chromista", 9, 398, 144, 0),
        ("Protozoa", 4, 308, 73, 0),
    ];

    /// <summary>Per super-class: distinct labelled classes, train images, val images, boxes, counted from the JSON.</summary>
    public Dictionary<string, (int Classes, int Train, int Val, int Boxes)> CountsBySuperClass()
    {
        var classes = new Dictionary<string, HashSet<int>>();
        var counts = new Dictionary<string, (int Classes, int Train, int Val, int Boxes)>();
        Count(Train, isTrain: true);
        Count(Val, isTrain: false);
        foreach (JsonBox box in TrainBoxes.Boxes) AddBox(TrainBoxes, box);
        foreach (JsonBox box in ValBoxes.Boxes) AddBox(ValBoxes, box);
        foreach ((string name, HashSet<int> ids) in classes)
        {
            var c = counts[name];
            counts[name] = (ids.Count, c.Train, c.Val, c.Boxes);
        }

        return counts;

        void Count(CorpusJsonFile file, bool isTrain)
        {
            foreach (int categoryId in file.Labels.Values)
            {
                string superClass = file.Categories[categoryId].Supercategory;
                if (!classes.TryGetValue(superClass, out HashSet<int>? ids)) classes[superClass] = ids = [];
                ids.Add(categoryId);
                counts.TryGetValue(superClass, out var c);
                counts[superClass] = isTrain ? (0, c.Train + 1, c.Val, c.Boxes) : (0, c.Train, c.Val + 1, c.Boxes);
            }
        }

        void AddBox(CorpusJsonFile file, JsonBox box)
        {
            string superClass = file.Categories[box.CategoryId].Supercategory;
            var c = counts[superClass];
            counts[superClass] = (c.Classes, c.Train, c.Val, c.Boxes + 1);
        }
    }

    /// <summary>Train images per category id.</summary>
    public Dictionary<int, int> TrainImagesPerClass()
    {
        var perClass = new Dictionary<int, int>();
        foreach (int categoryId in Train.Labels.Values) perClass[categoryId] = perClass.GetValueOrDefault(categoryId) + 1;
        return perClass;
    }
}

/// <summary>A fresh directory under the temp folder, deleted on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "pipeline-synth-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
    }
}
