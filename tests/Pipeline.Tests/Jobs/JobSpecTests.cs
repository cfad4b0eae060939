using Pipeline.Jobs;

namespace Pipeline.Tests.Jobs;

public sealed class JobSpecTests
{
    private static readonly JobSpec Spec = new() { Corpus = "/data/corpus", Output = "/data/out", Model = "none" };

    [Fact]
    public void Two_specs_with_equal_splits_arrays_are_equal()
    {
        var again = Spec with { Splits = ["train", "val"] };
        Assert.NotSame(Spec.Splits, again.Splits);
        Assert.Equal(Spec, again);
        Assert.Equal(Spec.GetHashCode(), again.GetHashCode());
        Assert.NotEqual(Spec, Spec with { Splits = ["val", "train"] });
        Assert.NotEqual(Spec, Spec with { ImageSize = 192 });
    }

    [Fact]
    public void The_job_id_includes_the_output_folder()
    {
        var id = JobIdentity.Compute(Spec, "corpus-sha", "model-sha");
        Assert.NotEqual(id, JobIdentity.Compute(Spec with { Output = "/data/other" }, "corpus-sha", "model-sha"));
        // the same folder spelled with a trailing separator is the same folder
        Assert.Equal(id, JobIdentity.Compute(Spec with { Output = "/data/out/" }, "corpus-sha", "model-sha"));
    }
}
