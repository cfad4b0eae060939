using System.Numerics;

namespace Pipeline.Synth;

/// <summary>
/// The background of a super-class's photos: a sky-to-ground colour gradient, large soft blotches (foliage, rocks,
/// clouds), fine texture, thin strokes (grass, twigs) and sensor grain. Colours are 0..255 RGB. Fine texture and grain set the JPEG size.
/// </summary>
internal sealed record Habitat(
    Vector3 Top,
    Vector3 Bottom,
    Vector3 Blotch,
    int CoarseCells,
    int FineCellPixels,
    float BlotchStrength,
    float FineAmplitude,
    float Grain,
    int Clutter,
    int Strokes)
{
    private static readonly Habitat Foliage = new(new(72, 112, 52), new(42, 78, 32), new(128, 160, 70), 7, 7, 0.8f, 26, 9, 9, 24);
    private static readonly Habitat Meadow = new(new(128, 165, 78), new(78, 112, 44), new(190, 178, 90), 6, 8, 0.7f, 24, 9, 7, 30);
    private static readonly Habitat Sky = new(new(110, 160, 222), new(188, 208, 228), new(238, 240, 245), 4, 14, 0.6f, 12, 7, 3, 2);
    private static readonly Habitat Sand = new(new(176, 146, 104), new(128, 100, 70), new(206, 186, 146), 6, 6, 0.7f, 28, 10, 6, 6);
    private static readonly Habitat Grassland = new(new(126, 142, 82), new(102, 88, 58), new(168, 156, 104), 6, 8, 0.7f, 24, 9, 6, 30);
    private static readonly Habitat ForestFloor = new(new(74, 58, 42), new(48, 38, 28), new(118, 94, 62), 7, 6, 0.8f, 26, 9, 10, 20);
    private static readonly Habitat Pond = new(new(62, 84, 52), new(38, 50, 34), new(96, 116, 72), 6, 7, 0.7f, 22, 9, 7, 16);
    private static readonly Habitat WetRock = new(new(124, 122, 116), new(88, 88, 84), new(156, 150, 138), 6, 6, 0.7f, 26, 9, 6, 6);
    private static readonly Habitat Shore = new(new(92, 124, 142), new(62, 82, 98), new(146, 162, 170), 5, 8, 0.6f, 20, 9, 5, 8);
    private static readonly Habitat Bark = new(new(150, 148, 128), new(100, 108, 88), new(192, 190, 170), 6, 6, 0.7f, 24, 9, 6, 14);
    private static readonly Habitat Underwater = new(new(40, 112, 142), new(18, 58, 88), new(74, 152, 172), 4, 12, 0.5f, 12, 8, 4, 4);
    private static readonly Habitat Kelp = new(new(64, 102, 82), new(38, 68, 58), new(124, 112, 58), 5, 10, 0.6f, 16, 8, 6, 18);
    private static readonly Habitat Microscope = new(new(226, 214, 232), new(204, 194, 216), new(188, 168, 210), 4, 16, 0.5f, 8, 6, 4, 0);

    public static Habitat For(string superClass) => superClass switch
    {
        "Plantae" => Foliage,
        "Insecta" => Meadow,
        "Aves" => Sky,
        "Reptilia" => Sand,
        "Mammalia" => Grassland,
        "Fungi" => ForestFloor,
        "Amphibia" => Pond,
        "Mollusca" => WetRock,
        "Animalia" => Shore,
        "Arachnida" => Bark,
        "Actinopterygii" => Underwater,
        "Chromista" => Kelp,
        "Protozoa" => Microscope,
        _ => Grassland,
    };
}
