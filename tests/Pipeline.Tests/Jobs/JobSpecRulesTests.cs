using Pipeline.Cli.Commands;
using Pipeline.Cluster.Api;
using Pipeline.Jobs;
using Pipeline.Processing;

namespace Pipeline.Tests.Jobs;

/// <summary>One set of job rules: the API, the command line and the job services refuse the same settings with the same sentence.</summary>
public sealed class JobSpecRulesTests
{
    private static JobSpec Spec() => new() { Corpus = Path.GetTempPath(), Output = Path.Combine(Path.GetTempPath(), "out") };

    [Fact]
    public void Api_command_line_and_job_services_refuse_an_unknown_decoder_with_one_sentence()
    {
        const string sentence = "decoder gdi is not a decoder: use imagesharp or skia (or leave it out for the fastest)";

        var api = Assert.Throws<JobRequestException>(() => JobRequest.Parse("""{"corpus": "/c", "output": "/o", "decoder": "gdi"}"""));
        Assert.Equal([sentence], api.Problems);
        var services = Assert.Throws<InvalidDataException>(() => JobServices.Validate(Spec() with { Decoder = "gdi" }));
        Assert.Equal(sentence, services.Message);
        var cli = Assert.Throws<UserFacingException>(() => new RunCommand.Settings { Decoder = "gdi" }.CheckValues());
        Assert.Equal("--" + sentence, cli.Message);
    }

    [Fact]
    public void Job_services_say_what_the_api_says_about_a_setting_out_of_range()
    {
        var spec = Spec() with { PartitionSize = 0, Device = "tpu" };

        var services = Assert.Throws<InvalidDataException>(() => JobServices.Validate(spec));

        Assert.Equal(string.Join("; ", JobSpecRules.Problems(spec)), services.Message);
        Assert.Equal("unknown device 'tpu': use cpu, cuda or auto; partition_size must be between 1 and 1000000, not 0", services.Message);
    }

    [Theory]
    [InlineData(224, 256)]
    [InlineData(384, 439)]
    [InlineData(112, 128)]
    public void Without_a_resize_the_api_and_the_command_line_keep_the_ratio_of_256_to_224(int crop, int resize)
    {
        Assert.Equal(resize, JobSpecRules.DefaultResizeShorter(crop));
        Assert.Equal(resize, JobRequest.Parse($$"""{"corpus": "/c", "output": "/o", "image_size": {{crop}}}""").ResizeShorter);
        Assert.Equal(resize, new RunCommand.Settings { ImageSize = crop }.ToSpec("/c", "/o").ResizeShorter);
    }
}
