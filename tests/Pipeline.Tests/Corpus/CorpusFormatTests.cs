using System.Text;
using Pipeline.Corpus;

namespace Pipeline.Tests.Corpus;

/// <summary>Malformed files stop the read with an error that names the file, the position and the problem.</summary>
public class CorpusFormatTests
{
    private static CorpusFormatException ReadTrainExpectingError(string trainJson)
    {
        using var corpus = new TempCorpus().Write(CorpusReader.TrainFileName, trainJson);
        CorpusReader reader = corpus.Reader();
        return Assert.Throws<CorpusFormatException>(() => reader.ReadImages(Splits.Train).ToArray());
    }

    /// <summary>One-based line and column of a byte offset in ASCII text.</summary>
    private static (long Line, long Column) LineAndColumn(string text, int offset)
    {
        int line = 1, lineStart = 0;
        for (int i = 0; i < offset; i++)
            if (text[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        return (line, offset - lineStart + 1);
    }

    [Fact]
    public void Bad_json_names_the_file_line_column_and_offset()
    {
        const string json = "{\"images\": [\n  {\"id\": 1, \"width\": 2, \"height\": 2, \"file_name\": \"a.jpg\"},\n  {\"id\": 2 \"width\": 2}\n]}\n";
        int offset = json.IndexOf("\"width\": 2}", StringComparison.Ordinal);

        CorpusFormatException error = ReadTrainExpectingError(json);

        Assert.EndsWith(CorpusReader.TrainFileName, error.FilePath);
        Assert.Equal((3, 12), LineAndColumn(json, offset));
        Assert.Equal((3, 12), (error.Line, error.Column));
        Assert.Equal(offset, error.ByteOffset);
        Assert.StartsWith(error.FilePath + ": line 3, column 12 (byte offset " + offset + "): malformed JSON", error.Message);
    }

    [Fact]
    public void A_truncated_file_is_a_format_error()
    {
        string json = TempCorpus.File("""[{"id": 1, "width": 2, "height": 2, "file_name": "a.jpg"}]""", "[]");
        string truncated = json[..(json.Length / 2)];

        CorpusFormatException error = ReadTrainExpectingError(truncated);

        Assert.Contains(CorpusReader.TrainFileName, error.Message);
        Assert.Contains("malformed JSON", error.Message);
    }

    [Fact]
    public void An_empty_file_is_a_format_error()
    {
        CorpusFormatException error = ReadTrainExpectingError("");

        Assert.Contains(CorpusReader.TrainFileName, error.Message);
    }

    [Fact]
    public void A_top_level_array_is_a_format_error()
    {
        CorpusFormatException error = ReadTrainExpectingError("[{\"id\": 1}]");

        Assert.Contains("must hold one JSON object", error.Message);
        Assert.Equal((0, 1, 1), (error.ByteOffset, error.Line, error.Column));
    }

    [Fact]
    public void Content_after_the_root_object_is_a_format_error()
    {
        CorpusFormatException error = ReadTrainExpectingError(TempCorpus.File("[]", "[]") + "{}");

        Assert.Contains("malformed JSON", error.Message);
    }

    [Fact]
    public void A_string_where_an_integer_id_belongs_names_the_field_and_its_position()
    {
        string json = TempCorpus.File("""
            [{"id": 1, "width": 2, "height": 2, "file_name": "a.jpg"},
             {"id": "2", "width": 2, "height": 2, "file_name": "b.jpg"}]
            """, "[]");
        int offset = json.IndexOf("\"2\"", StringComparison.Ordinal);

        CorpusFormatException error = ReadTrainExpectingError(json);

        Assert.Equal("image field 'id' must be an integer, found the string \"2\"", error.Problem);
        Assert.Equal(offset, error.ByteOffset);
        Assert.Equal(LineAndColumn(json, offset), (error.Line, error.Column));
    }

    [Theory]
    [InlineData("""{"id": 1, "width": 2.5, "height": 2, "file_name": "a.jpg"}""", "image field 'width' must be a 32-bit integer")]
    [InlineData("""{"id": 1, "width": 2, "height": null, "file_name": "a.jpg"}""", "image field 'height' must be a 32-bit integer")]
    [InlineData("""{"id": 1, "width": 2, "height": 2, "file_name": 7}""", "image field 'file_name' must be a string")]
    [InlineData("""{"id": 1, "width": 2, "height": 2, "file_name": ["a.jpg"]}""", "image field 'file_name' must be a string")]
    [InlineData("""{"id": 1e40, "width": 2, "height": 2, "file_name": "a.jpg"}""", "image field 'id' must be an integer")]
    public void A_required_image_field_of_the_wrong_type_is_a_format_error(string image, string problem)
    {
        CorpusFormatException error = ReadTrainExpectingError(TempCorpus.File("[" + image + "]", "[]"));

        Assert.StartsWith(problem, error.Problem);
    }

    [Fact]
    public void A_missing_required_field_names_it_and_the_element_position()
    {
        string json = TempCorpus.File("""[{"id": 1, "height": 2, "file_name": "a.jpg"}]""", "[]");
        int offset = json.IndexOf("{\"id\": 1, \"height\"", StringComparison.Ordinal);

        CorpusFormatException error = ReadTrainExpectingError(json);

        Assert.Equal("image object lacks required field 'width'", error.Problem);
        Assert.Equal(offset, error.ByteOffset);
    }

    [Fact]
    public void A_category_id_of_the_wrong_type_in_an_annotation_is_a_format_error()
    {
        CorpusFormatException error = ReadTrainExpectingError(TempCorpus.File(
            """[{"id": 1, "width": 2, "height": 2, "file_name": "a.jpg"}]""",
            """[{"id": 1, "image_id": 1, "category_id": "0"}]"""));

        Assert.StartsWith("annotation field 'category_id' must be a 32-bit integer", error.Problem);
    }

    [Theory]
    [InlineData("[1, 2, 3]")]
    [InlineData("[1, 2, 3, 4, 5]")]
    [InlineData("{\"x\": 1}")]
    [InlineData("[1, 2, \"3\", 4]")]
    public void A_bbox_that_is_not_four_numbers_is_a_format_error(string bbox)
    {
        using var corpus = new TempCorpus()
            .Write(CorpusReader.TrainFileName, TempCorpus.File("""[{"id": 1, "width": 20, "height": 20, "file_name": "a.jpg"}]""", "[]"))
            .Write(CorpusReader.TrainBoxesFileName, TempCorpus.File(null,
                $$"""[{"id": 1, "image_id": 1, "category_id": 0, "bbox": {{bbox}}}]"""));
        CorpusReader reader = corpus.Reader();

        var error = Assert.Throws<CorpusFormatException>(() => reader.ReadImages(Splits.Train).ToArray());

        Assert.EndsWith(CorpusReader.TrainBoxesFileName, error.FilePath);
        Assert.Contains("bbox", error.Problem);
    }

    [Fact]
    public void Images_that_is_not_an_array_is_a_format_error()
    {
        CorpusFormatException error = ReadTrainExpectingError("""{"images": {"id": 1}}""");

        Assert.Equal("'images' must be an array, found an object", error.Problem);
    }

    [Fact]
    public void A_malformed_category_file_fails_when_categories_are_read()
    {
        using var corpus = new TempCorpus().Write(CorpusReader.TrainFileName, """{"categories": [{"id": 1, "name": "A"}]}""");
        CorpusReader reader = corpus.Reader();

        var error = Assert.Throws<CorpusFormatException>(() => reader.Categories);

        Assert.Equal("category object lacks required field 'supercategory'", error.Problem);
    }

    [Fact]
    public void Positions_stay_exact_far_past_the_first_buffer()
    {
        // ~700 KB over many lines: the reader refills its 64 KB buffer many times before the bad value.
        var json = new StringBuilder("{\"images\": [\n");
        for (int i = 0; i < 8000; i++)
            json.Append("  {\"id\": ").Append(i).Append(", \"width\": 640, \"height\": 480, \"file_name\": \"train_val_images/Aves/x/")
                .Append(i.ToString("x32")).Append(".jpg\"},\n");
        json.Append("  {\"id\": 8000, \"width\": true, \"height\": 480, \"file_name\": \"z.jpg\"}\n]}\n");
        string text = json.ToString();
        int offset = text.IndexOf("true", StringComparison.Ordinal);

        CorpusFormatException error = ReadTrainExpectingError(text);

        Assert.Equal(offset, error.ByteOffset);
        Assert.Equal(LineAndColumn(text, offset), (error.Line, error.Column));
        Assert.Equal(8002, error.Line);
    }

    [Fact]
    public void Malformed_json_positions_stay_exact_far_past_the_first_buffer_on_one_line()
    {
        var json = new StringBuilder("{\"images\": [");
        for (int i = 0; i < 8000; i++)
            json.Append("{\"id\": ").Append(i).Append(", \"width\": 640, \"height\": 480, \"file_name\": \"a/")
                .Append(i.ToString("x32")).Append(".jpg\"},");
        json.Append("{\"id\": 8000, \"width\": 640, \"height\": 480, \"file_name\": \"z.jpg\" \"x\": 1}]}");
        string text = json.ToString();
        int offset = text.IndexOf("\"x\": 1", StringComparison.Ordinal);

        CorpusFormatException error = ReadTrainExpectingError(text);

        Assert.Equal((1, offset + 1), (error.Line, error.Column));
        Assert.Equal(offset, error.ByteOffset);
    }

    [Fact]
    public void A_string_longer_than_the_read_buffer_is_read_whole()
    {
        string longName = new string('n', 300_000) + " × long";
        using var corpus = new TempCorpus().Write(CorpusReader.TrainFileName, $$"""
            {"images": [{"id": 1, "width": 2, "height": 2, "file_name": "a.jpg", "rights_holder": "{{longName}}"}],
             "annotations": [{"id": 1, "image_id": 1, "category_id": 9}],
             "categories": [{"id": 9, "name": "{{longName}}", "supercategory": "Plantae"}]}
            """);
        CorpusReader reader = corpus.Reader();

        Assert.Equal(9, Assert.Single(reader.ReadImages(Splits.Train)).CategoryId);
        Assert.Equal(longName, Assert.Single(reader.Categories).Name);
    }
}
