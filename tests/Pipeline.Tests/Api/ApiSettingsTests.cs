using Akka.Configuration;
using Pipeline.Cluster.Api;
using Pipeline.Jobs;

namespace Pipeline.Tests.Api;

/// <summary>Settings and request parsing without a server: configuration precedence, the token, the job request.</summary>
public sealed class ApiSettingsTests
{
    private static Func<string, string?> Env(params (string Name, string Value)[] vars) =>
        name => vars.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void Options_default_to_port_8080_on_loopback_with_submitting_disabled()
    {
        var options = ApiOptions.Load(ConfigurationFactory.Empty, environment: Env());
        Assert.Equal("http://127.0.0.1:8080", options.Urls);
        Assert.Null(options.Token);
        Assert.False(options.ProtectReads);
        Assert.False(options.OpenReadsBeyondLoopback);
    }

    [Fact]
    public void Options_take_the_command_line_over_the_environment_over_hocon()
    {
        var hocon = ConfigurationFactory.ParseString("pipeline.api { urls = \"http://0.0.0.0:1111\", token = from-hocon }");
        Assert.Equal("http://0.0.0.0:1111", ApiOptions.Load(hocon, environment: Env()).Urls);
        var env = Env(("PIPELINE_API_URLS", "http://0.0.0.0:2222"), ("PIPELINE_API_TOKEN", "from-env"));
        Assert.Equal("http://0.0.0.0:2222", ApiOptions.Load(hocon, environment: env).Urls);
        Assert.Equal("from-env", ApiOptions.Load(hocon, environment: env).Token);
        Assert.Equal("http://127.0.0.1:3333", ApiOptions.Load(hocon, "http://127.0.0.1:3333", env).Urls);
    }

    [Theory]
    [InlineData("http://0.0.0.0:8080")]
    [InlineData("http://*:8080")]
    [InlineData("http://+:8080")]
    [InlineData("http://[::]:8080")]
    [InlineData("http://10.0.0.5:8080")]
    [InlineData("http://coordinator.example:8080")]
    [InlineData("http://127.0.0.1:8080;http://0.0.0.0:9090")]
    public void Beyond_loopback_without_a_token_refuses_to_start_and_names_the_address(string urls)
    {
        var e = Assert.Throws<InvalidDataException>(() => ApiOptions.Load(ConfigurationFactory.Empty, urls, Env()));
        Assert.Contains("beyond loopback, with no token", e.Message);
        Assert.Contains(urls.Split(';').Last(), e.Message);
        Assert.Contains("--insecure", e.Message);
    }

    [Fact]
    public void Beyond_loopback_with_a_token_protects_reads_unless_told_otherwise()
    {
        var options = ApiOptions.Load(ConfigurationFactory.Empty, "http://0.0.0.0:8080", Env(("PIPELINE_API_TOKEN", "t0k")));
        Assert.True(options.ProtectReads);
        Assert.False(options.OpenReadsBeyondLoopback);
        var open = ApiOptions.Load(ConfigurationFactory.Empty, "http://0.0.0.0:8080",
            Env(("PIPELINE_API_TOKEN", "t0k"), ("PIPELINE_API_PROTECT_READS", "off")));
        Assert.False(open.ProtectReads);
        Assert.True(open.OpenReadsBeyondLoopback);
        // on loopback reads stay open by default: the machine's own users
        Assert.False(ApiOptions.Load(ConfigurationFactory.Empty, "http://localhost:8080", Env(("PIPELINE_API_TOKEN", "t0k"))).ProtectReads);
    }

    [Fact]
    public void Insecure_opens_reads_beyond_loopback_without_a_token()
    {
        var options = ApiOptions.Load(ConfigurationFactory.Empty, "http://0.0.0.0:8080", Env(), insecure: true);
        Assert.Null(options.Token);
        Assert.False(options.ProtectReads);
        Assert.True(options.OpenReadsBeyondLoopback);
    }

    [Fact]
    public void Token_file_is_read_without_its_trailing_newline()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "s3cret-from-a-mounted-secret\n");
            var options = ApiOptions.Load(ConfigurationFactory.Empty, environment: Env(("PIPELINE_API_TOKEN_FILE", file)));
            Assert.Equal("s3cret-from-a-mounted-secret", options.Token);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Missing_token_file_is_a_clear_error()
    {
        var e = Assert.Throws<InvalidDataException>(() =>
            ApiOptions.Load(ConfigurationFactory.Empty, environment: Env(("PIPELINE_API_TOKEN_FILE", "/nonexistent/token"))));
        Assert.Equal("API token file /nonexistent/token does not exist", e.Message);
    }

    [Fact]
    public void Protected_reads_without_a_token_refuse_to_start()
    {
        var e = Assert.Throws<InvalidDataException>(() =>
            ApiOptions.Load(ConfigurationFactory.Empty, environment: Env(("PIPELINE_API_PROTECT_READS", "on"))));
        Assert.StartsWith("pipeline.api.protect-reads is on but no API token is configured", e.Message);
    }

    [Fact]
    public void Options_never_print_the_token()
    {
        var options = new ApiOptions { Token = "do-not-print-me" };
        Assert.DoesNotContain("do-not-print-me", options.ToString());
        Assert.DoesNotContain("do-not-print-me", $"{options with { ProtectReads = true }}");
    }

    [Fact]
    public void Access_matches_only_the_whole_token()
    {
        var access = new ApiAccess("abc123", protectReads: false);
        Assert.True(access.Matches("abc123"));
        Assert.False(access.Matches("abc12"));
        Assert.False(access.Matches("abc1234"));
        Assert.False(access.Matches(""));
        Assert.False(access.Matches(null));
        Assert.False(new ApiAccess(null, false).Matches(""));
    }

    [Fact]
    public void Request_without_resize_keeps_the_ratio_of_256_to_224_like_the_command_line()
    {
        var spec = JobRequest.Parse("""{"corpus": "/data/inat", "output": "/data/out", "image_size": 384}""");
        Assert.Equal(384, spec.ImageSize);
        Assert.Equal(439, spec.ResizeShorter);
        Assert.Equal(256, JobRequest.Parse("""{"corpus": "/c", "output": "/o"}""").ResizeShorter);
    }

    [Fact]
    public void Request_round_trips_a_job_file()
    {
        var spec = new JobSpec
        {
            Corpus = "/data/inat", Output = "/data/out", Splits = ["val"], Model = "/models/m.onnx", ModelPreset = "imagenet-torchvision",
            Device = "cuda", FallbackCpu = true, Precision = "fp16", Decoder = "skia", ResizeShorter = 300, ImageSize = 256,
            StoreShorter = 128, StoreQuality = 85, PartitionSize = 500, BatchSize = 64,
        };
        var parsed = JobRequest.Parse(spec.ToJson());
        Assert.Equal(spec.ToJson(), parsed.ToJson());
    }

    [Fact]
    public void Request_reports_every_problem_at_once()
    {
        var e = Assert.Throws<JobRequestException>(() => JobRequest.Parse(
            """{"corpus": "relative/corpus", "output": "/o", "device": "gpu", "precision": "int4", "resize_shorter": 100, "store_quality": 101}"""));
        Assert.Equal(
        [
            "corpus must be an absolute path as every node sees it, not 'relative/corpus'",
            "unknown device 'gpu': use cpu, cuda or auto",
            "unknown precision 'int4': use fp32 or fp16",
            "resize_shorter (100) must be at least image_size (224): the crop is cut from the resized image",
            "store_quality must be between 1 and 100, not 101",
        ], e.Problems);
    }
}
