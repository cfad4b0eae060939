using Parquet.Schema;

namespace Pipeline.Storage;

/// <summary>Where the partition columns (split, supercategory) of an image file live.</summary>
public enum ImageFileLayout
{
    /// <summary>A committed part: split and supercategory are columns (parts are internal).</summary>
    Part,

    /// <summary>A merged dataset file: split and supercategory live only in the hive path, as Spark and pyarrow write them.</summary>
    Dataset,
}

/// <summary>
/// The Parquet schema of image rows (docs/architecture.md): boxes are list&lt;struct{x,y,w,h,relative_size}&gt; and the embedding
/// list&lt;float&gt;, both in the three-level list/element form that pyarrow, Spark and DuckDB write.
/// </summary>
public sealed class ImageRowSchema
{
    // Column paths, as Parquet.Net spells them, used to find the fields of a file being read.
    public const string ImageIdPath = "image_id";
    public const string FileNamePath = "file_name";
    public const string CategoryIdPath = "category_id";
    public const string SpeciesPath = "species";
    public const string SplitPath = "split";
    public const string SupercategoryPath = "supercategory";
    public const string WidthPath = "width";
    public const string HeightPath = "height";
    public const string ResizedWidthPath = "resized_width";
    public const string ResizedHeightPath = "resized_height";
    public const string ImagePath = "image";
    public const string BoxXPath = "boxes/list/element/x";
    public const string BoxYPath = "boxes/list/element/y";
    public const string BoxWPath = "boxes/list/element/w";
    public const string BoxHPath = "boxes/list/element/h";
    public const string BoxRelativeSizePath = "boxes/list/element/relative_size";
    public const string EmbeddingPath = "embedding/list/element";

    /// <summary>Definition level of a present box: optional list (1), repeated (2), optional struct element (3).</summary>
    public const int BoxValueDefinitionLevel = 3;

    /// <summary>Definition level of a present embedding value: optional list (1), repeated (2), required float.</summary>
    public const int EmbeddingValueDefinitionLevel = 2;

    /// <summary>Definition level of a list that is present but empty (both lists are optional at the top).</summary>
    public const int EmptyListDefinitionLevel = 1;

    private ImageRowSchema(ImageFileLayout layout)
    {
        Layout = layout;
        ImageId = new DataField<long>("image_id", false);
        FileName = new DataField<string>("file_name", false);
        CategoryId = new DataField<int>("category_id", false);
        Species = new DataField<string>("species", false);
        Split = new DataField<string>("split", false);
        Supercategory = new DataField<string>("supercategory", false);
        Width = new DataField<int>("width", false);
        Height = new DataField<int>("height", false);
        ResizedWidth = new DataField<int>("resized_width", false);
        ResizedHeight = new DataField<int>("resized_height", false);
        Image = new DataField<byte[]>("image", true);
        BoxX = new DataField<float>("x", false);
        BoxY = new DataField<float>("y", false);
        BoxW = new DataField<float>("w", false);
        BoxH = new DataField<float>("h", false);
        BoxRelativeSize = new DataField<float>("relative_size", false);
        Embedding = new DataField<float>("element", false);

        var boxes = new ListField("boxes", new StructField("element", BoxX, BoxY, BoxW, BoxH, BoxRelativeSize));
        var embedding = new ListField("embedding", Embedding);
        Schema = layout == ImageFileLayout.Part
            ? new ParquetSchema(ImageId, FileName, CategoryId, Species, Split, Supercategory, Width, Height,
                ResizedWidth, ResizedHeight, Image, boxes, embedding)
            : new ParquetSchema(ImageId, FileName, CategoryId, Species, Width, Height,
                ResizedWidth, ResizedHeight, Image, boxes, embedding);
    }

    public ImageFileLayout Layout { get; }
    public ParquetSchema Schema { get; }
    public DataField ImageId { get; }
    public DataField FileName { get; }
    public DataField CategoryId { get; }
    public DataField Species { get; }
    public DataField Split { get; }
    public DataField Supercategory { get; }
    public DataField Width { get; }
    public DataField Height { get; }
    public DataField ResizedWidth { get; }
    public DataField ResizedHeight { get; }
    public DataField Image { get; }
    public DataField BoxX { get; }
    public DataField BoxY { get; }
    public DataField BoxW { get; }
    public DataField BoxH { get; }
    public DataField BoxRelativeSize { get; }
    public DataField Embedding { get; }

    /// <summary>A fresh schema per file: Parquet.Net fields carry levels set by their schema, so writers never share them.</summary>
    public static ImageRowSchema Create(ImageFileLayout layout) => new(layout);
}
