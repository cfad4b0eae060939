using System.Text;
using Pipeline.Corpus;

namespace Pipeline.Tests.Corpus;

/// <summary>A corpus root in a fresh temp directory, filled with handwritten JSON files; deleted on dispose.</summary>
internal sealed class TempCorpus : IDisposable
{
    /// <summary>Two categories with the release's shapes of names: spaces and the hybrid sign ×.</summary>
    public const string TwoCategories = """
        [{"id": 0, "name": "Aloe × spinosissima", "supercategory": "Plantae"},
         {"id": 1, "name": "Turdus migratorius", "supercategory": "Aves"}]
        """;

    public TempCorpus()
    {
        Root = Path.Combine(Path.GetTempPath(), "pipeline-corpus-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public TempCorpus Write(string fileName, string text)
    {
        System.IO.File.WriteAllText(Path.Combine(Root, fileName), text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        return this;
    }

    /// <summary>A label or box file of the release's top-level shape; null parts are left out.</summary>
    public static string File(string? images, string? annotations = null, string? categories = TwoCategories) =>
        "{\"info\": {\"year\": 2017, \"version\": \"1.0\"},\n"
        + "\"licenses\": [{\"id\": 1, \"name\": \"CC BY\", \"url\": \"http://x\"}],\n"
        + (images is null ? "" : "\"images\": " + images + ",\n")
        + (annotations is null ? "" : "\"annotations\": " + annotations + ",\n")
        + "\"categories\": " + (categories ?? "[]") + "\n}\n";

    public CorpusReader Reader(CorpusReaderOptions? options = null) => new(Root, options);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // a leftover temp directory is harmless
        }
    }
}
