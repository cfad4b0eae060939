using System.Diagnostics;
using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using Pipeline.Corpus;
using Xunit.Abstractions;

namespace Pipeline.Tests.Reliability;

/// <summary>One change to a corpus JSON file; <see cref="Position"/> is a fraction of the file or of its value tokens.</summary>
public sealed record JsonMutation(string Kind, double Position, int Seed)
{
    public override string ToString() => $"{Kind}@{Position:F3}#{Seed}";
}

/// <summary>Mutations of one of the two annotation files of a small valid corpus (0: train2017.json, 1: its box file).</summary>
public sealed record AnnotationCase(int File, JsonMutation[] Mutations)
{
    public string FileName => File == 0 ? CorpusReader.TrainFileName : CorpusReader.TrainBoxesFileName;

    public override string ToString() => $"{FileName}: {string.Join(", ", Mutations.Select(m => m.ToString()))}";
}

/// <summary>
/// A fuzzer of the annotation reader: FsCheck generates mutations of a valid small train2017.json and its box file
/// (truncation, flipped bytes, values of the wrong type, deep nesting, huge numbers, invalid UTF-8, lone surrogates,
/// duplicated and deleted spans). Each case either reads fine or throws <see cref="CorpusFormatException"/> naming the
/// file: never another exception type and never a hang (each case is bounded in time).
/// </summary>
[Trait("Category", "Faults")]
[Trait("Category", "Slow")]
public sealed class AnnotationFuzzTests(ITestOutputHelper output)
{
    private const int Cases = 400;
    private static readonly TimeSpan CaseBound = TimeSpan.FromSeconds(10);

    private static readonly string[] Kinds =
        ["truncate", "flip-bytes", "wrong-type", "deep-nesting", "huge-number", "invalid-utf8", "lone-surrogate", "duplicate-span", "delete-span", "long-string"];

    /// <summary>Values that replace a token: other JSON types, numbers no integer holds, odd escapes.</summary>
    private static readonly string[] Replacements =
    [
        "\"x\"", "[]", "{}", "null", "true", "false", "-1", "0", "1.5", "-0.0", "1e999", "-1e999", "1e-999",
        "99999999999999999999999999999", "-9223372036854775809", "9223372036854775808", "2147483648", "NaN", "Infinity",
        "\"\\u0000\"", "\"\\ud800\"", "\"\\udfff\\ud800\"", "\"../../etc/passwd\"", "\"\"", "[1,2,3,4,5]", "[\"a\",\"b\",\"c\",\"d\"]",
        "{\"id\": {}}", "[[[[[]]]]]", "\"\\/\\b\\f\\n\\r\\t\"",
    ];

    public static Gen<AnnotationCase> CaseGen =>
        from file in Gen.Choose(0, 1)
        from count in Gen.Choose(1, 3)
        from mutations in Gen.ArrayOf(
            from kind in Gen.Elements(Kinds)
            from position in Gen.Choose(0, 100_000).Select(p => p / 100_000.0)
            from seed in Gen.Choose(0, int.MaxValue - 1)
            select new JsonMutation(kind, position, seed), count)
        select new AnnotationCase(file, mutations);

    private const string ValidTrain = """
        {"info": {"year": 2017, "version": "1.0", "description": "fuzz base"},
         "licenses": [{"id": 1, "name": "CC BY-NC", "url": "http://creativecommons.org/licenses/by-nc/4.0/"}],
         "images": [
          {"id": 10, "width": 800, "height": 600, "file_name": "train_val_images/Aves/Turdus migratorius/0a1b2c3d4e5f60718293a4b5c6d7e8f9.jpg", "license": 1, "rights_holder": "A. Birder"},
          {"id": 11, "width": 600, "height": 800, "file_name": "train_val_images/Aves/Turdus migratorius/1a1b2c3d4e5f60718293a4b5c6d7e8f9.jpg", "license": 1, "rights_holder": "B"},
          {"id": 12, "width": 640, "height": 480, "file_name": "train_val_images/Plantae/Aloe × spinosissima/2a1b2c3d4e5f60718293a4b5c6d7e8f9.jpg", "license": 1, "rights_holder": "C"},
          {"id": 13, "width": 500, "height": 500, "file_name": "train_val_images/Plantae/Aloe × spinosissima/3a1b2c3d4e5f60718293a4b5c6d7e8f9.jpg", "license": 1, "rights_holder": "D"},
          {"id": 14, "width": 800, "height": 533, "file_name": "train_val_images/Aves/Turdus migratorius/4a1b2c3d4e5f60718293a4b5c6d7e8f9.jpg", "license": 1, "rights_holder": "E"}
         ],
         "annotations": [
          {"id": 10, "image_id": 10, "category_id": 1}, {"id": 11, "image_id": 11, "category_id": 1},
          {"id": 12, "image_id": 12, "category_id": 0}, {"id": 13, "image_id": 13, "category_id": 0},
          {"id": 14, "image_id": 14, "category_id": 1}
         ],
         "categories": [{"id": 0, "name": "Aloe × spinosissima", "supercategory": "Plantae"},
                        {"id": 1, "name": "Turdus migratorius", "supercategory": "Aves"}]}
        """;

    private const string ValidBoxes = """
        {"info": {"year": 2017}, "licenses": [],
         "images": [{"id": 10, "width": 800, "height": 600, "file_name": "train_val_images/Aves/Turdus migratorius/0a1b2c3d4e5f60718293a4b5c6d7e8f9.jpg"},
                    {"id": 14, "width": 800, "height": 533, "file_name": "train_val_images/Aves/Turdus migratorius/4a1b2c3d4e5f60718293a4b5c6d7e8f9.jpg"}],
         "annotations": [
          {"id": 100, "image_id": 10, "category_id": 1, "bbox": [10.5, 20, 300, 200.25], "area": 30037.5, "iscrowd": 0},
          {"id": 101, "image_id": 10, "category_id": 1, "bbox": [400, 100, 120, 80], "area": 4800.0, "iscrowd": 0},
          {"id": 102, "image_id": 14, "category_id": 1, "bbox": [0, 0, 800, 533], "area": 213200.0, "iscrowd": 0}
         ],
         "categories": [{"id": 1, "name": "Turdus migratorius", "supercategory": "Aves"}]}
        """;

    /// <summary>Start and length of every value token (string, number, literal) of a JSON text.</summary>
    private static List<(int Start, int Length)> ValueTokens(byte[] json)
    {
        var tokens = new List<(int, int)>();
        var reader = new Utf8JsonReader(json);
        while (reader.Read())
        {
            if (reader.TokenType is JsonTokenType.String or JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False or JsonTokenType.Null)
            {
                var start = (int)reader.TokenStartIndex;
                var length = reader.TokenType == JsonTokenType.String ? reader.ValueSpan.Length + 2 : reader.ValueSpan.Length;
                tokens.Add((start, length));
            }
        }
        return tokens;
    }

    public static byte[] Apply(byte[] json, JsonMutation mutation)
    {
        var random = new Random(mutation.Seed);
        int At(int length) => Math.Clamp((int)(mutation.Position * length), 0, Math.Max(0, length - 1));
        byte[] Splice(int start, int removed, ReadOnlySpan<byte> inserted) =>
            [.. json.AsSpan(0, start), .. inserted, .. json.AsSpan(start + removed)];
        byte[] ReplaceToken(string text)
        {
            List<(int Start, int Length)> tokens;
            try { tokens = ValueTokens(json); }
            catch (JsonException) { return Splice(At(json.Length), 0, Encoding.UTF8.GetBytes(text)); } // an earlier mutation broke it
            if (tokens.Count == 0) return json;
            var (start, length) = tokens[At(tokens.Count)];
            return Splice(start, length, Encoding.UTF8.GetBytes(text));
        }

        switch (mutation.Kind)
        {
            case "truncate":
                return json[..At(json.Length)];
            case "flip-bytes":
            {
                var flipped = (byte[])json.Clone();
                for (var i = random.Next(1, 9); i > 0; i--) flipped[random.Next(flipped.Length)] ^= (byte)random.Next(1, 256);
                return flipped;
            }
            case "wrong-type":
                return ReplaceToken(Replacements[random.Next(Replacements.Length)]);
            case "deep-nesting":
            {
                var depth = random.Next(64, 20_000);
                return ReplaceToken(new string('[', depth) + new string(']', random.Next(2) == 0 ? depth : depth / 2));
            }
            case "huge-number":
                return ReplaceToken((random.Next(2) == 0 ? "-" : "") + "9" + new string('9', random.Next(20, 5000)) + (random.Next(2) == 0 ? "" : "e" + random.Next(300, 100_000)));
            case "invalid-utf8":
            {
                byte[][] sequences = [[0xFF], [0xC3, 0x28], [0xE2, 0x82], [0xF0, 0x28, 0x8C, 0x28], [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0x00]];
                return Splice(At(json.Length), 0, sequences[random.Next(sequences.Length)]);
            }
            case "lone-surrogate":
                return ReplaceToken(random.Next(2) == 0 ? "\"abc\\ud83d\"" : "\"\\udc00xyz\"");
            case "duplicate-span":
            {
                var start = At(json.Length);
                var length = Math.Min(json.Length - start, random.Next(1, 400));
                return Splice(start, 0, json.AsSpan(start, length));
            }
            case "delete-span":
            {
                var start = At(json.Length);
                return Splice(start, Math.Min(json.Length - start, random.Next(1, 200)), []);
            }
            case "long-string":
                return ReplaceToken("\"" + new string('a', random.Next(100_000, 2_000_000)) + "\"");
            default:
                throw new ArgumentOutOfRangeException(nameof(mutation), mutation.Kind, null);
        }
    }

    /// <summary>Reads everything a job reads from the corpus JSON: splits, categories, and every image with its boxes.</summary>
    private static (bool ReadFine, string? Problem) ReadCorpus(string root, string mutatedFile)
    {
        try
        {
            var reader = new CorpusReader(root);
            _ = reader.Categories.Count;
            foreach (var split in reader.AvailableSplits)
                foreach (var image in reader.ReadImages(split))
                    _ = image.Boxes.Length;
            return (true, null);
        }
        catch (CorpusFormatException e)
        {
            if (!e.FilePath.EndsWith(mutatedFile, StringComparison.Ordinal) || !e.Message.Contains(mutatedFile, StringComparison.Ordinal))
                return (false, $"the format error names {e.FilePath}, not {mutatedFile}: {e.Message}");
            return (false, null);
        }
        catch (Exception e)
        {
            return (false, $"{e.GetType().FullName} instead of CorpusFormatException: {e.Message}\n{e.StackTrace}");
        }
    }

    [Fact]
    public async Task Mutated_annotation_files_read_fine_or_fail_with_a_format_error_naming_the_file()
    {
        var seed = (ulong)Environment.TickCount64; // a new seed each run; the failure message repeats it with the case
        var cases = Gen.Sample(CaseGen, Cases, new Rnd(seed), 50);
        var root = Directory.CreateTempSubdirectory("pipeline-fuzz-").FullName;
        int readFine = 0, refused = 0;
        var slowest = TimeSpan.Zero;
        var kinds = new Dictionary<string, int>();
        try
        {
            var train = Encoding.UTF8.GetBytes(ValidTrain);
            var boxes = Encoding.UTF8.GetBytes(ValidBoxes);
            Assert.True(ReadCorpusFiles(root, train, boxes).ReadFine, "the base corpus must read");
            foreach (var @case in cases)
            {
                var mutated = @case.File == 0 ? train : boxes;
                foreach (var mutation in @case.Mutations)
                {
                    mutated = Apply(mutated, mutation);
                    kinds[mutation.Kind] = kinds.GetValueOrDefault(mutation.Kind) + 1;
                }
                var clock = Stopwatch.StartNew();
                var run = Task.Run(() => ReadCorpusFiles(root, @case.File == 0 ? mutated : train, @case.File == 1 ? mutated : boxes, @case.FileName));
                if (await Task.WhenAny(run, Task.Delay(CaseBound)) != run)
                    Assert.Fail($"seed {seed}, case {@case}: reading did not finish within {CaseBound}");
                slowest = clock.Elapsed > slowest ? clock.Elapsed : slowest;
                var (fine, problem) = await run;
                Assert.True(problem is null, $"seed {seed}, case {@case}: {problem}");
                if (fine) readFine++;
                else refused++;
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
        output.WriteLine($"seed {seed}: {Cases} cases, {readFine} read fine, {refused} refused with CorpusFormatException, slowest {slowest.TotalMilliseconds:F0} ms; " +
                         string.Join(", ", kinds.OrderBy(k => k.Key).Select(k => $"{k.Key} {k.Value}")));
        Assert.Equal(Cases, readFine + refused);
        Assert.True(refused > Cases / 4, $"only {refused} of {Cases} cases were refused: the mutations are too gentle to mean much");
    }

    private static (bool ReadFine, string? Problem) ReadCorpusFiles(string root, byte[] train, byte[] boxes, string mutatedFile = "")
    {
        File.WriteAllBytes(Path.Combine(root, CorpusReader.TrainFileName), train);
        File.WriteAllBytes(Path.Combine(root, CorpusReader.TrainBoxesFileName), boxes);
        return ReadCorpus(root, mutatedFile);
    }
}
