using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Pipeline.Bench;

/// <summary>
/// Realistic decode inputs: random crops of Debian's nature wallpapers (plasma-workspace-wallpapers, mate-backgrounds),
/// resized to 800 px on the longest side and saved as JPEG quality 90 (about 120 KB, like iNat2017). Generated
/// pictures alone flatter a decoder. Built once and cached under the temp folder.
/// </summary>
internal static class DecodeBenchCorpus
{
    public const int ImageCount = 48;
    private const string Version = "v2";

    private static readonly string[] SourceFolders = ["/usr/share/wallpapers", "/usr/share/backgrounds/mate/nature"];

    public static byte[][] Load()
    {
        string folder = Path.Combine(Path.GetTempPath(), $"pipeline-decode-bench-{Version}");
        var files = new byte[ImageCount][];
        if (Directory.Exists(folder) && Directory.GetFiles(folder, "*.jpg").Length == ImageCount)
        {
            for (int i = 0; i < ImageCount; i++)
                files[i] = File.ReadAllBytes(Path.Combine(folder, $"{i:D3}.jpg"));
            return files;
        }

        var sources = FindSources();
        if (sources.Count == 0)
            throw new InvalidOperationException(
                "no wallpapers found: apt-get install -y plasma-workspace-wallpapers mate-backgrounds");
        Directory.CreateDirectory(folder);
        var random = new Random(2017);
        var encoder = new JpegEncoder { Quality = 90, ColorType = JpegColorType.YCbCrRatio420 };
        for (int i = 0; i < ImageCount; i++)
        {
            using var source = Image.Load<Rgb24>(sources[i % sources.Count]);
            // a crop of 40..100% of each side, anywhere in the picture
            int width = (int)(source.Width * (0.4 + 0.6 * random.NextDouble()));
            int height = (int)(source.Height * (0.4 + 0.6 * random.NextDouble()));
            int x = random.Next(source.Width - width + 1), y = random.Next(source.Height - height + 1);
            double scale = 800.0 / Math.Max(width, height);
            source.Mutate(c => c.Crop(new Rectangle(x, y, width, height))
                .Resize((int)Math.Round(width * scale), (int)Math.Round(height * scale)));
            using var output = new MemoryStream();
            source.Save(output, encoder);
            files[i] = output.ToArray();
            File.WriteAllBytes(Path.Combine(folder, $"{i:D3}.jpg"), files[i]);
        }
        return files;
    }

    /// <summary>
    /// The photographs: MATE's nature set and KDE's 2560x1600 JPEG wallpapers (KDE's PNG and 5120x2880 ones are
    /// rendered art, which compresses unlike a photo). KDE ships each picture at many sizes; this takes one.
    /// </summary>
    private static List<string> FindSources()
    {
        var sources = new List<string>();
        foreach (var root in SourceFolders)
        {
            if (!Directory.Exists(root)) continue;
            if (root.EndsWith("nature", StringComparison.Ordinal))
            {
                sources.AddRange(Directory.GetFiles(root, "*.jpg"));
                continue;
            }
            foreach (var theme in Directory.GetDirectories(root))
            {
                string images = Path.Combine(theme, "contents", "images");
                if (!Directory.Exists(images)) continue;
                string photo = Path.Combine(images, "2560x1600.jpg");
                if (File.Exists(photo)) sources.Add(photo);
            }
        }
        sources.Sort(StringComparer.Ordinal);
        return sources;
    }
}
