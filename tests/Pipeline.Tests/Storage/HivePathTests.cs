using Pipeline.Storage;

namespace Pipeline.Tests.Storage;

public sealed class HivePathTests
{
    [Theory]
    [InlineData("Aves", "Aves")]
    [InlineData("Fungi/Lichens", "Fungi%2FLichens")]
    [InlineData("a=b", "a%3Db")]
    [InlineData("50%", "50%25")]
    [InlineData("..", "%2E%2E")]
    [InlineData("Quercus × bebbiana", "Quercus × bebbiana")]
    public void Partition_value_is_escaped_like_hive_and_unescapes_back(string value, string escaped)
    {
        Assert.Equal(escaped, HivePath.Escape(value));
        Assert.Equal(value, HivePath.Unescape(escaped));
    }

    [Fact]
    public void Split_and_supercategory_are_parsed_from_a_dataset_file_path()
    {
        string path = Path.Combine("out", "dataset", "images", "split=train", "supercategory=Fungi%2FLichens", "part-00000.parquet");

        Assert.True(HivePath.TryParsePartition(path, out string? split, out string? supercategory));
        Assert.Equal("train", split);
        Assert.Equal("Fungi/Lichens", supercategory);
    }

    [Fact]
    public void Empty_partition_value_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => HivePath.Escape(""));
    }
}
