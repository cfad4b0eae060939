namespace Pipeline.Analysis.Stats;

/// <summary>One row of the paper's Table 2; <see cref="Boxes"/> is null where the paper prints "-" (no boxes).</summary>
public sealed record PaperSuperclassRow(string Supercategory, int Classes, int TrainImages, int ValImages, int? Boxes);

/// <summary>
/// Figures published by Van Horn et al., "The iNaturalist Species Classification and Detection Dataset" (CVPR 2018),
/// for comparing a corpus with the real iNat2017 release.
/// </summary>
public static class PaperFigures
{
    /// <summary>Table 2, in the paper's order (classes, descending).</summary>
    public static IReadOnlyList<PaperSuperclassRow> Table2 { get; } =
    [
        new("Plantae", 2_101, 158_407, 38_206, null),
        new("Insecta", 1_021, 100_479, 18_076, 125_679),
        new("Aves", 964, 214_295, 21_226, 311_669),
        new("Reptilia", 289, 35_201, 5_680, 42_351),
        new("Mammalia", 186, 29_333, 3_490, 35_222),
        new("Fungi", 121, 5_826, 1_780, null),
        new("Amphibia", 115, 15_318, 2_385, 18_281),
        new("Mollusca", 93, 7_536, 1_841, 10_821),
        new("Animalia", 77, 5_228, 1_362, 8_536),
        new("Arachnida", 56, 4_873, 1_086, 5_826),
        new("Actinopterygii", 53, 1_982, 637, 3_382),
        new("Chromista", 9, 398, 144, null),
        new("Protozoa", 4, 308, 73, null),
    ];

    /// <summary>Table 2's totals.</summary>
    public static PaperSuperclassRow Table2Total { get; } = new("Total", 5_089, 579_184, 95_986, 561_767);

    /// <summary>Table 1: images in the largest training class over images in the smallest.</summary>
    public const double Imbalance = 435.44;

    /// <summary>Figure 2: the top 1% most populated classes hold over this share of the training images.</summary>
    public const double TopOnePercentShareAbove = 0.16;

    public const int TrainValImages = 675_170;
    public const int PublicTestImages = 90_427;
    public const int PrivateTestImages = 92_280;

    /// <summary>Boxes in the released box files (fewer than Table 2's 561,767: the val file keeps single-instance images only).</summary>
    public const int ReleasedTrainBoxes = 496_164;

    /// <inheritdoc cref="ReleasedTrainBoxes"/>
    public const int ReleasedValBoxes = 48_736;
}
