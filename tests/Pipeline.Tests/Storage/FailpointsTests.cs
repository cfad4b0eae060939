namespace Pipeline.Tests.Storage;

public sealed class FailpointsTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void Unset_names_no_point(string? value) => Assert.Empty(Failpoints.Parse(value));

    [Fact]
    public void Names_a_point_and_its_pause()
    {
        var points = Failpoints.Parse($" {Failpoints.MergeManifestWritten} = 250 ,");
        Assert.Equal(250, Assert.Single(points, p => p.Key == Failpoints.MergeManifestWritten).Value);
    }

    [Theory]
    [InlineData("merge.manifest-writen=100")] // a typo in the name
    [InlineData("merge.manifest-written")]
    [InlineData("merge.manifest-written=-5")]
    [InlineData("merge.manifest-written=1s")]
    public void A_malformed_value_is_an_error_that_names_the_variable_and_the_entry(string value)
    {
        var error = Assert.Throws<FormatException>(() => Failpoints.Parse(value));
        Assert.Contains(Failpoints.Variable, error.Message);
        Assert.Contains(value, error.Message);
        Assert.Contains(Failpoints.MergeManifestWritten, error.Message); // the names that would be accepted
    }
}
