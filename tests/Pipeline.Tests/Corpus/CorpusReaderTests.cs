using Pipeline.Corpus;

namespace Pipeline.Tests.Corpus;

public class CorpusReaderTests
{
    private const string ThreeImages = """
        [{"id": 30, "width": 800, "height": 600, "file_name": "train_val_images/Aves/Turdus migratorius/c.jpg", "license": 1, "rights_holder": "someone"},
         {"id": 10, "width": 640, "height": 480, "file_name": "train_val_images/Plantae/Aloe × spinosissima/a.jpg"},
         {"id": 20, "width": 500, "height": 800, "file_name": "train_val_images/Aves/Turdus migratorius/b.jpg"}]
        """;

    private const string ThreeLabels = """
        [{"id": 1, "image_id": 10, "category_id": 0},
         {"id": 2, "image_id": 20, "category_id": 1},
         {"id": 3, "image_id": 30, "category_id": 1}]
        """;

    [Fact]
    public void Yields_images_in_file_order_joined_to_their_labels()
    {
        using var corpus = new TempCorpus().Write(CorpusReader.TrainFileName, TempCorpus.File(ThreeImages, ThreeLabels));

        CorpusImage[] images = corpus.Reader().ReadImages(Splits.Train).ToArray();

        Assert.Equal(new long[] { 30, 10, 20 }, images.Select(i => i.Id));
        Assert.Equal(new[] { 1, 0, 1 }, images.Select(i => i.CategoryId));
        Assert.Equal(new[] { 800, 640, 500 }, images.Select(i => i.Width));
        Assert.Equal(new[] { 600, 480, 800 }, images.Select(i => i.Height));
        Assert.All(images, i => Assert.Equal(Splits.Train, i.Split));
        Assert.Equal("train_val_images/Plantae/Aloe × spinosissima/a.jpg", images[1].FileName);
    }

    [Fact]
    public void Joins_boxes_to_their_image_by_image_id_in_box_file_order()
    {
        const string boxes = """
            [{"id": 7, "image_id": 20, "category_id": 1, "bbox": [10, 20, 30, 40], "area": 600.0, "iscrowd": 0},
             {"id": 5, "image_id": 30, "category_id": 1, "bbox": [1.5, 2.5, 3.5, 4.5], "area": 7.875, "iscrowd": 0},
             {"id": 6, "image_id": 20, "category_id": 1, "bbox": [0, 0, 500, 800], "area": 200000.0, "iscrowd": 0}]
            """;
        using var corpus = new TempCorpus()
            .Write(CorpusReader.TrainFileName, TempCorpus.File(ThreeImages, ThreeLabels))
            .Write(CorpusReader.TrainBoxesFileName, TempCorpus.File(ThreeImages, boxes));

        Dictionary<long, CorpusImage> byId = corpus.Reader().ReadImages(Splits.Train).ToDictionary(i => i.Id);

        Assert.Empty(byId[10].Boxes);
        Assert.Equal(new[] { new BoxAnnotation(7, 10, 20, 30, 40), new BoxAnnotation(6, 0, 0, 500, 800) }, byId[20].Boxes);
        Assert.Equal(new[] { new BoxAnnotation(5, 1.5, 2.5, 3.5, 4.5) }, byId[30].Boxes);
    }

    [Fact]
    public void Without_box_files_images_have_no_boxes()
    {
        using var corpus = new TempCorpus().Write(CorpusReader.TrainFileName, TempCorpus.File(ThreeImages, ThreeLabels));

        CorpusImage[] images = corpus.Reader().ReadImages(Splits.Train).ToArray();

        Assert.Equal(3, images.Length);
        Assert.All(images, i => Assert.Empty(i.Boxes));
    }

    [Fact]
    public void Without_annotations_images_are_kept_unlabelled_and_counted()
    {
        using var corpus = new TempCorpus().Write(CorpusReader.TrainFileName, TempCorpus.File(ThreeImages, annotations: null));
        CorpusReader reader = corpus.Reader();

        CorpusImage[] images = reader.ReadImages(Splits.Train).ToArray();

        Assert.Equal(3, images.Length);
        Assert.All(images, i => Assert.Equal(-1, i.CategoryId));
        Assert.Equal(3, reader.Issues.Count(CorpusIssueKind.ImageWithoutLabel));
        Assert.False(CorpusIssues.IsSkipped(CorpusIssueKind.ImageWithoutLabel));
    }

    [Fact]
    public void A_file_with_only_images_and_categories_is_enough()
    {
        using var corpus = new TempCorpus().Write(CorpusReader.ValFileName, $$"""
            {"images": {{ThreeImages}}, "annotations": {{ThreeLabels}}, "categories": {{TempCorpus.TwoCategories}}}
            """);
        CorpusReader reader = corpus.Reader();

        Assert.Equal(3, reader.ReadImages(Splits.Val).Count());
        Assert.Empty(reader.ReadImages(Splits.Train));
        Assert.Empty(reader.ReadImages(Splits.Test));
        Assert.Equal(new[] { Splits.Val }, reader.AvailableSplits);
        Assert.Equal(0, reader.Issues.Total);
    }

    [Fact]
    public void Null_annotations_and_licenses_count_as_absent()
    {
        using var corpus = new TempCorpus().Write(CorpusReader.TrainFileName, $$"""
            {"licenses": null, "annotations": null, "images": {{ThreeImages}}, "categories": {{TempCorpus.TwoCategories}}}
            """);

        Assert.Equal(3, corpus.Reader().ReadImages(Splits.Train).Count(i => i.CategoryId == -1));
    }

    [Fact]
    public void Unknown_fields_of_any_shape_are_skipped()
    {
        using var corpus = new TempCorpus().Write(CorpusReader.TrainFileName, """
            {"info": {"nested": {"deep": [1, [2, {"x": null}], "s"]}, "flag": true},
             "extra_list": [[[]], {}, "x", 1.5e3, false, null],
             "images": [{"id": 1, "meta": {"a": [1, 2, {"b": "c"}]}, "width": 10, "tags": ["x", ["y"]], "height": 20,
                         "file_name": "a.jpg", "date": "2017-01-01 10:00:00", "location": null}],
             "annotations": [{"id": 4, "notes": {"k": []}, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]}],
             "categories": [{"id": 1, "name": "Turdus migratorius", "x": {"y": [{}]}, "supercategory": "Aves"}],
             "trailing_object": {"images": [{"id": "not an image"}]}}
            """);
        CorpusReader reader = corpus.Reader();

        CorpusImage image = Assert.Single(reader.ReadImages(Splits.Train));

        Assert.Equal(new CorpusImage(1, "a.jpg", 10, 20, Splits.Train, 1, []), image with { Boxes = [] });
        Assert.Equal(new Category(1, "Turdus migratorius", "Aves"), Assert.Single(reader.Categories));
    }

    [Fact]
    public void Later_release_category_taxonomy_and_numeric_folders_are_read()
    {
        using var corpus = new TempCorpus().Write(CorpusReader.TrainFileName, """
            {"images": [{"id": 5, "width": 500, "height": 375, "file_name": "train/1234/0a1b2c3d4e5f60718293a4b5c6d7e8f9.jpg",
                         "date": "2019-05-01", "latitude": 40.1, "longitude": -74.5, "location_uncertainty": 12}],
             "annotations": [{"id": 9, "image_id": 5, "category_id": 1234}],
             "categories": [{"id": 1234, "name": "Turdus migratorius", "common_name": "American Robin",
                             "supercategory": "Birds", "kingdom": "Animalia", "phylum": "Chordata", "class": "Aves",
                             "order": "Passeriformes", "family": "Turdidae", "genus": "Turdus",
                             "specific_epithet": "migratorius", "image_dir_name": "01234_Animalia_Chordata"}]}
            """);
        CorpusReader reader = corpus.Reader();

        CorpusImage image = Assert.Single(reader.ReadImages(Splits.Train));

        Assert.Equal("train/1234/0a1b2c3d4e5f60718293a4b5c6d7e8f9.jpg", image.FileName);
        Assert.Equal(1234, image.CategoryId);
        Assert.True(reader.TryGetCategory(1234, out Category? category));
        Assert.Equal("Birds", category.Supercategory);
    }

    [Fact]
    public void Utf8_names_with_spaces_and_hybrid_sign_are_read_exactly_whether_raw_or_escaped()
    {
        using var corpus = new TempCorpus().Write(CorpusReader.TrainFileName, """
            {"images": [{"id": 1, "width": 10, "height": 10, "file_name": "train_val_images/Plantae/Salix \u00d7 fragilis/a.jpg"}],
             "annotations": [{"id": 1, "image_id": 1, "category_id": 3}],
             "categories": [{"id": 3, "name": "Salix \u00d7 fragilis", "supercategory": "Plantae"},
                            {"id": 4, "name": "Mentha × piperita", "supercategory": "Plantae"}]}
            """);
        CorpusReader reader = corpus.Reader();

        CorpusImage image = Assert.Single(reader.ReadImages(Splits.Train));

        Assert.Equal("train_val_images/Plantae/Salix × fragilis/a.jpg", image.FileName);
        Assert.Equal(["Salix × fragilis", "Mentha × piperita"], reader.Categories.Select(c => c.Name));
    }

    [Fact]
    public void Test_images_have_category_minus_one_and_test_annotations_are_ignored()
    {
        using var corpus = new TempCorpus()
            .Write(CorpusReader.TrainFileName, TempCorpus.File(images: "[]", annotations: "[]"))
            .Write(CorpusReader.TestFileName, TempCorpus.File(ThreeImages, ThreeLabels));
        CorpusReader reader = corpus.Reader();

        CorpusImage[] images = reader.ReadImages(Splits.Test).ToArray();

        Assert.Equal(3, images.Length);
        Assert.All(images, i => Assert.Equal((-1, Splits.Test), (i.CategoryId, i.Split)));
        Assert.Equal(0, reader.Issues.Total);
    }

    [Fact]
    public void Several_splits_stream_one_after_the_other_in_the_order_given()
    {
        using var corpus = new TempCorpus()
            .Write(CorpusReader.TrainFileName, TempCorpus.File(ThreeImages, ThreeLabels))
            .Write(CorpusReader.ValFileName, TempCorpus.File("""[{"id": 99, "width": 5, "height": 5, "file_name": "v.jpg"}]""",
                """[{"id": 1, "image_id": 99, "category_id": 0}]"""));

        CorpusImage[] images = corpus.Reader().ReadImages([Splits.Val, Splits.Train]).ToArray();

        Assert.Equal(new long[] { 99, 30, 10, 20 }, images.Select(i => i.Id));
        Assert.Equal([Splits.Val, Splits.Train, Splits.Train, Splits.Train], images.Select(i => i.Split));
    }

    [Fact]
    public void Annotations_before_images_in_the_file_are_still_joined()
    {
        using var corpus = new TempCorpus().Write(CorpusReader.TrainFileName, $$"""
            {"categories": {{TempCorpus.TwoCategories}}, "annotations": {{ThreeLabels}}, "images": {{ThreeImages}}}
            """);

        Assert.Equal(new[] { 1, 0, 1 }, corpus.Reader().ReadImages(Splits.Train).Select(i => i.CategoryId));
    }

    [Fact]
    public void Categories_are_the_union_of_all_files_sorted_by_id()
    {
        using var corpus = new TempCorpus()
            .Write(CorpusReader.TrainFileName, TempCorpus.File("[]", "[]", """[{"id": 5, "name": "E", "supercategory": "Fungi"}]"""))
            .Write(CorpusReader.ValFileName, TempCorpus.File("[]", "[]", """[{"id": 2, "name": "B", "supercategory": "Aves"}, {"id": 5, "name": "E", "supercategory": "Fungi"}]"""))
            .Write(CorpusReader.TrainBoxesFileName, TempCorpus.File("[]", "[]", """[{"id": 3, "name": "C", "supercategory": "Insecta"}]"""));
        CorpusReader reader = corpus.Reader();

        Assert.Equal(new[] { new Category(2, "B", "Aves"), new Category(3, "C", "Insecta"), new Category(5, "E", "Fungi") },
            reader.Categories);
        Assert.Equal(0, reader.Issues.Total);
    }

    [Fact]
    public void A_category_redefined_differently_keeps_its_first_definition_and_is_counted()
    {
        using var corpus = new TempCorpus()
            .Write(CorpusReader.TrainFileName, TempCorpus.File("[]", "[]", """[{"id": 5, "name": "E", "supercategory": "Fungi"}]"""))
            .Write(CorpusReader.ValFileName, TempCorpus.File("[]", "[]", """[{"id": 5, "name": "Other", "supercategory": "Fungi"}]"""));
        CorpusReader reader = corpus.Reader();

        Assert.Equal("E", Assert.Single(reader.Categories).Name);
        Assert.Equal(1, reader.Issues.Count(CorpusIssueKind.ConflictingCategory));
        Assert.Contains("val2017.json", reader.Issues.Samples[0].Message);
    }

    [Fact]
    public void Reading_a_split_twice_yields_the_same_images_and_counts_issues_once()
    {
        using var corpus = new TempCorpus().Write(CorpusReader.TrainFileName, TempCorpus.File(ThreeImages, """
            [{"id": 1, "image_id": 10, "category_id": 0}, {"id": 2, "image_id": 404, "category_id": 1}]
            """));
        CorpusReader reader = corpus.Reader();

        CorpusImage[] first = reader.ReadImages(Splits.Train).ToArray();
        CorpusImage[] second = reader.ReadImages(Splits.Train).ToArray();

        Assert.Equal(first.Select(i => (i.Id, i.CategoryId)), second.Select(i => (i.Id, i.CategoryId)));
        Assert.Equal(1, reader.Issues.Count(CorpusIssueKind.LabelForMissingImage));
        Assert.Equal(2, reader.Issues.Count(CorpusIssueKind.ImageWithoutLabel));
    }

    [Fact]
    public void An_unknown_split_name_is_rejected_at_the_call()
    {
        using var corpus = new TempCorpus().Write(CorpusReader.TrainFileName, TempCorpus.File(ThreeImages, ThreeLabels));
        CorpusReader reader = corpus.Reader();

        Assert.Throws<ArgumentException>(() => reader.ReadImages("Train"));
        Assert.Throws<ArgumentException>(() => reader.ReadImages([Splits.Train, "validation"]));
    }

    [Fact]
    public void A_root_without_train_or_val_file_is_rejected()
    {
        using var corpus = new TempCorpus().Write(CorpusReader.TestFileName, TempCorpus.File(ThreeImages));

        var error = Assert.Throws<FileNotFoundException>(() => corpus.Reader());

        Assert.Contains(CorpusReader.TrainFileName, error.Message);
        Assert.Contains(corpus.Root, error.Message);
    }

    [Fact]
    public void A_missing_root_is_rejected()
    {
        string missing = Path.Combine(Path.GetTempPath(), "pipeline-no-such-corpus-" + Guid.NewGuid().ToString("N"));

        var error = Assert.Throws<DirectoryNotFoundException>(() => new CorpusReader(missing));

        Assert.Contains(missing, error.Message);
    }

    [Fact]
    public void Resolved_paths_lie_inside_the_root()
    {
        using var corpus = new TempCorpus().Write(CorpusReader.TrainFileName, TempCorpus.File(ThreeImages, ThreeLabels));
        CorpusReader reader = corpus.Reader();

        foreach (CorpusImage image in reader.ReadImages(Splits.Train))
        {
            string path = reader.ResolvePath(image);
            Assert.StartsWith(reader.Root + Path.DirectorySeparatorChar, path);
            Assert.Equal(Path.GetFullPath(Path.Combine(corpus.Root, image.FileName)), path);
        }
    }

    [Theory]
    [InlineData("../escape.jpg")]
    [InlineData("train/../../escape.jpg")]
    [InlineData("/etc/passwd")]
    [InlineData("")]
    public void Resolving_a_hand_made_image_that_leaves_the_root_throws(string fileName)
    {
        using var corpus = new TempCorpus().Write(CorpusReader.TrainFileName, TempCorpus.File("[]"));
        CorpusReader reader = corpus.Reader();

        Assert.Throws<ArgumentException>(() => reader.ResolvePath(new CorpusImage(1, fileName, 1, 1, Splits.Train, -1, [])));
    }
}
