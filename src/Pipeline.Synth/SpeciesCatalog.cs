using System.Text;

namespace Pipeline.Synth;

/// <summary>A real iNat2017 species from the embedded list; <see cref="Id"/> is the csv index, used as category id.</summary>
public sealed record Species(int Id, string Name, string Supercategory, bool Boxed);

/// <summary>The 5,089 real species names of iNat2017 (embedded resource <c>inat2017_categories.csv</c>).</summary>
public static class SpeciesCatalog
{
    private const string ResourceName = "inat2017_categories.csv";
    private static readonly Lazy<IReadOnlyList<Species>> All = new(Load);

    /// <summary>All species in csv (category id) order.</summary>
    public static IReadOnlyList<Species> Species => All.Value;

    private static IReadOnlyList<Species> Load()
    {
        using Stream stream = typeof(SpeciesCatalog).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded resource {ResourceName} is missing from Pipeline.Core.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string header = reader.ReadLine() ?? throw new InvalidDataException($"{ResourceName} is empty.");
        if (header != "index,name,supercategory,boxed")
            throw new InvalidDataException($"{ResourceName} has header '{header}', expected 'index,name,supercategory,boxed'.");

        var species = new List<Species>(5089);
        int lineNumber = 1;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length == 0) continue;
            string[] fields = line.Split(',');
            if (fields.Length != 4
                || !int.TryParse(fields[0], out int index)
                || index != species.Count
                || fields[1].Length == 0
                || fields[3] is not ("0" or "1"))
            {
                throw new InvalidDataException($"{ResourceName} line {lineNumber} is not 'index,name,supercategory,boxed' in order: '{line}'.");
            }

            species.Add(new Species(index, fields[1], fields[2], fields[3] == "1"));
        }

        return species;
    }
}
