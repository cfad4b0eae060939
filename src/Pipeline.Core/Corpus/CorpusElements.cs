using System.Text.Json;

namespace Pipeline.Corpus;

/// <summary>
/// An element of an <c>images</c> array; <see cref="Offset"/> is its byte offset in the file. FileName is null when
/// it was not asked for and is safe; <see cref="FileNameProblem"/> says why it may not be used, or is null.
/// </summary>
internal readonly record struct ImageElement(long Id, int Width, int Height, string? FileName, string? FileNameProblem, long Offset);

/// <summary>An element of a label file's <c>annotations</c> array (one label per image).</summary>
internal readonly record struct LabelElement(long Id, long ImageId, int CategoryId, long Offset);

/// <summary>An element of a box file's <c>annotations</c> array; bbox is [x, y, width, height] in pixels.</summary>
internal readonly record struct BoxElement(
    long Id, long ImageId, int CategoryId, double X, double Y, double Width, double Height, long Offset);

/// <summary>
/// Reads the elements of the release's JSON arrays field by field. Known fields are required and typed; any other
/// field, of any shape (later releases' taxonomy, dates, locations), is skipped without being materialized.
/// </summary>
internal static class CorpusElements
{
    // Required fields, in the bit order of each reader's "seen" mask.
    private static readonly string[] CategoryFields = ["id", "name", "supercategory"];
    private static readonly string[] ImageFields = ["id", "width", "height", "file_name"];
    private static readonly string[] LabelFields = ["id", "image_id", "category_id"];
    private static readonly string[] BoxFields = ["id", "image_id", "category_id", "bbox"];

    public static Category ReadCategory(JsonFileCursor cursor, ref Utf8JsonReader reader)
    {
        long offset = cursor.TokenOffset(ref reader);
        int id = 0;
        string? name = null, supercategory = null;
        int seen = 0;
        while (NextField(cursor, ref reader))
        {
            if (reader.ValueTextEquals("id"u8)) { id = cursor.ReadInt32(ref reader, "category", "id"); seen |= 1; }
            else if (reader.ValueTextEquals("name"u8)) { name = cursor.ReadString(ref reader, "category", "name"); seen |= 2; }
            else if (reader.ValueTextEquals("supercategory"u8)) { supercategory = cursor.ReadString(ref reader, "category", "supercategory"); seen |= 4; }
            else SkipField(cursor, ref reader);
        }
        RequireAll(cursor, offset, "category", seen, 0b111, CategoryFields);
        return new Category(id, name!, supercategory!);
    }

    public static ImageElement ReadImage(JsonFileCursor cursor, ref Utf8JsonReader reader, bool withFileName)
    {
        long offset = cursor.TokenOffset(ref reader);
        long id = 0;
        int width = 0, height = 0;
        string? fileName = null, fileNameProblem = null;
        int seen = 0;
        while (NextField(cursor, ref reader))
        {
            if (reader.ValueTextEquals("id"u8)) { id = cursor.ReadInt64(ref reader, "image", "id"); seen |= 1; }
            else if (reader.ValueTextEquals("width"u8)) { width = cursor.ReadInt32(ref reader, "image", "width"); seen |= 2; }
            else if (reader.ValueTextEquals("height"u8)) { height = cursor.ReadInt32(ref reader, "image", "height"); seen |= 4; }
            else if (reader.ValueTextEquals("file_name"u8))
            {
                // Checked in place; a string is made only when asked for or when it goes into an issue message.
                ReadOnlySpan<char> chars = cursor.ReadStringChars(ref reader, "image", "file_name");
                fileNameProblem = CorpusPaths.FileNameProblem(chars);
                fileName = withFileName || fileNameProblem is not null ? new string(chars) : null;
                seen |= 8;
            }
            else SkipField(cursor, ref reader);
        }
        RequireAll(cursor, offset, "image", seen, 0b1111, ImageFields);
        return new ImageElement(id, width, height, fileName, fileNameProblem, offset);
    }

    public static LabelElement ReadLabel(JsonFileCursor cursor, ref Utf8JsonReader reader)
    {
        long offset = cursor.TokenOffset(ref reader);
        long id = 0, imageId = 0;
        int categoryId = 0;
        int seen = 0;
        while (NextField(cursor, ref reader))
        {
            if (reader.ValueTextEquals("id"u8)) { id = cursor.ReadInt64(ref reader, "annotation", "id"); seen |= 1; }
            else if (reader.ValueTextEquals("image_id"u8)) { imageId = cursor.ReadInt64(ref reader, "annotation", "image_id"); seen |= 2; }
            else if (reader.ValueTextEquals("category_id"u8)) { categoryId = cursor.ReadInt32(ref reader, "annotation", "category_id"); seen |= 4; }
            else SkipField(cursor, ref reader);
        }
        RequireAll(cursor, offset, "annotation", seen, 0b111, LabelFields);
        return new LabelElement(id, imageId, categoryId, offset);
    }

    public static BoxElement ReadBox(JsonFileCursor cursor, ref Utf8JsonReader reader)
    {
        long offset = cursor.TokenOffset(ref reader);
        long id = 0, imageId = 0;
        int categoryId = 0;
        double x = 0, y = 0, width = 0, height = 0;
        int seen = 0;
        while (NextField(cursor, ref reader))
        {
            if (reader.ValueTextEquals("id"u8)) { id = cursor.ReadInt64(ref reader, "box annotation", "id"); seen |= 1; }
            else if (reader.ValueTextEquals("image_id"u8)) { imageId = cursor.ReadInt64(ref reader, "box annotation", "image_id"); seen |= 2; }
            else if (reader.ValueTextEquals("category_id"u8)) { categoryId = cursor.ReadInt32(ref reader, "box annotation", "category_id"); seen |= 4; }
            else if (reader.ValueTextEquals("bbox"u8))
            {
                cursor.ReadRequired(ref reader);
                if (reader.TokenType != JsonTokenType.StartArray)
                    throw cursor.Error(ref reader, "box annotation field 'bbox' must be an array [x, y, width, height]");
                x = ReadBoxNumber(cursor, ref reader, "bbox[0] (x)");
                y = ReadBoxNumber(cursor, ref reader, "bbox[1] (y)");
                width = ReadBoxNumber(cursor, ref reader, "bbox[2] (width)");
                height = ReadBoxNumber(cursor, ref reader, "bbox[3] (height)");
                cursor.ReadRequired(ref reader);
                if (reader.TokenType != JsonTokenType.EndArray)
                    throw cursor.Error(ref reader, "box annotation field 'bbox' must hold exactly four numbers [x, y, width, height]");
                seen |= 8;
            }
            else SkipField(cursor, ref reader);
        }
        RequireAll(cursor, offset, "box annotation", seen, 0b1111, BoxFields);
        return new BoxElement(id, imageId, categoryId, x, y, width, height, offset);
    }

    private static double ReadBoxNumber(JsonFileCursor cursor, ref Utf8JsonReader reader, string field)
    {
        cursor.ReadRequired(ref reader);
        if (reader.TokenType == JsonTokenType.EndArray)
            throw cursor.Error(ref reader, "box annotation field 'bbox' must hold exactly four numbers [x, y, width, height]");
        return cursor.CurrentNumber(ref reader, "box annotation", field);
    }

    /// <summary>Moves to the next property name of the object being read; false at its end.</summary>
    private static bool NextField(JsonFileCursor cursor, ref Utf8JsonReader reader)
    {
        cursor.ReadRequired(ref reader);
        return reader.TokenType != JsonTokenType.EndObject;
    }

    private static void SkipField(JsonFileCursor cursor, ref Utf8JsonReader reader)
    {
        cursor.ReadRequired(ref reader);
        cursor.SkipValue(ref reader);
    }

    private static void RequireAll(JsonFileCursor cursor, long offset, string element, int seen, int all, string[] names)
    {
        if (seen == all)
            return;
        var missing = new List<string>();
        for (int bit = 0; bit < names.Length; bit++)
            if ((seen & (1 << bit)) == 0)
                missing.Add("'" + names[bit] + "'");
        throw cursor.ErrorAt(offset, $"{element} object lacks required field {string.Join(", ", missing)}");
    }
}
