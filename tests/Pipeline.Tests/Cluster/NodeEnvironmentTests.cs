using Pipeline.Cluster.Remoting;
using System.Text.RegularExpressions;
using Akka.Configuration;
using Pipeline.Cluster.Api;
using Pipeline.Cluster.Configuration;
using Pipeline.Cluster.Hosting;
using Pipeline.Tests.Kubernetes;

namespace Pipeline.Tests.Cluster;

/// <summary>Environment variables are bound in one place, by one table, and README prints that table.</summary>
public sealed partial class NodeEnvironmentTests
{
    private static Func<string, string?> Env(params (string Name, string Value)[] vars) =>
        name => vars.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void Readme_prints_the_table_the_code_binds()
    {
        var readme = File.ReadAllText(RepositoryTree.PathOf("README.md")).ReplaceLineEndings("\n");
        var match = ReadmeTable().Match(readme);
        Assert.True(match.Success, "README.md has no environment table between its markers");
        // on a difference, paste the expected text between the markers
        Assert.Equal(NodeEnvironment.MarkdownTable().ReplaceLineEndings("\n"), match.Groups["table"].Value);
    }

    [Fact]
    public void Every_variable_the_source_names_is_in_the_table_and_only_the_table_reads_them()
    {
        var source = RepositoryTree.SourceText();
        var table = NodeEnvironment.Settings.Select(s => s.Variable).ToHashSet();
        Assert.Equal(table.Count, NodeEnvironment.Settings.Count);
        var named = VariableName().Matches(source).Select(m => m.Value).Where(n => !n.EndsWith('_')).ToHashSet();
        Assert.Empty(named.Except(table));
        Assert.DoesNotMatch(@"GetEnvironmentVariable\(\s*""PIPELINE_", source);
    }

    [Fact]
    public void Variables_override_hocon_and_a_blank_one_counts_as_unset()
    {
        var hocon = ConfigurationFactory.ParseString("pipeline.coordinator { lease = 120s, state-dir = /from/hocon }\nakka.remote.dot-netty.tcp.port = 4053");
        var config = NodeEnvironment.Apply(hocon, Env(("PIPELINE_LEASE", " 45s "), ("PIPELINE_PORT", "5000"), ("PIPELINE_STATE_DIR", "  ")));

        Assert.Equal(TimeSpan.FromSeconds(45), config.GetTimeSpan("pipeline.coordinator.lease"));
        Assert.Equal(5000, config.GetInt("akka.remote.dot-netty.tcp.port"));
        Assert.Equal("/from/hocon", config.GetString("pipeline.coordinator.state-dir"));
        Assert.Equal(config.ToString(), NodeEnvironment.Apply(config, Env(("PIPELINE_LEASE", "45s"), ("PIPELINE_PORT", "5000"))).ToString());
    }

    [Theory]
    [InlineData("PIPELINE_PORT", "abc", "whole number")]
    [InlineData("PIPELINE_WORKER_THREADS", "4.5", "whole number")]
    [InlineData("PIPELINE_LEASE", "soon", "duration")]
    [InlineData("PIPELINE_API_PROTECT_READS", "maybe", "on or off")]
    public void A_value_that_does_not_parse_is_refused_naming_the_variable(string variable, string value, string expected)
    {
        var error = Assert.Throws<ConfigurationException>(() => NodeEnvironment.Apply(ConfigurationFactory.Empty, Env((variable, value))));
        Assert.StartsWith($"{variable} must be", error.Message);
        Assert.Contains(expected, error.Message);
        Assert.Contains($"'{value}'", error.Message);
    }

    [Fact]
    public void A_token_from_the_environment_voids_a_configured_token_file_and_the_other_way_round()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "from-file\n");
            var withFile = ConfigurationFactory.ParseString($"pipeline.api.token-file = \"{file}\"");
            Assert.Equal("from-env", ApiOptions.Load(withFile, environment: Env(("PIPELINE_API_TOKEN", "from-env"))).Token);
            var withToken = ConfigurationFactory.ParseString("pipeline.api.token = from-hocon");
            Assert.Equal("from-file", ApiOptions.Load(withToken, environment: Env(("PIPELINE_API_TOKEN_FILE", file))).Token);
            // both in the environment: the token itself, as before
            Assert.Equal("from-env", ApiOptions.Load(ConfigurationFactory.Empty,
                environment: Env(("PIPELINE_API_TOKEN_FILE", file), ("PIPELINE_API_TOKEN", "from-env"))).Token);
            // both in HOCON: the file, as before
            Assert.Equal("from-file", ApiOptions.Load(withToken.WithFallback(withFile), environment: Env()).Token);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Trusted_fingerprints_from_the_environment_replace_the_configured_list()
    {
        var a = new string('a', 64);
        var b = new string('b', 64);
        var hocon = ConfigurationFactory.ParseString($"pipeline.tls {{ certificate = /c.pfx, trusted-sha256 = [\"{a}\"] }}");

        Assert.Equal([a], RemoteTls.Load(hocon, Env())!.TrustedSha256);
        Assert.Equal([b, a], RemoteTls.Load(hocon, Env(("PIPELINE_TLS_TRUSTED_SHA256", $"{b.ToUpperInvariant()}; {a}")))!.TrustedSha256);
    }

    [Fact]
    public void Worker_threads_setting_sets_the_decode_threads_unless_the_command_line_does()
    {
        var options = new NodeOptions { Worker = true, Local = true, ExtraHocon = "pipeline.worker.threads = 3" };
        Assert.Equal(3, PipelineNode.DecodeThreads(options, null));
        Assert.Equal(5, PipelineNode.DecodeThreads(options, 5));
        Assert.Equal(Environment.ProcessorCount, PipelineNode.DecodeThreads(options with { ExtraHocon = null }, null));
    }

    [GeneratedRegex(@"<!-- environment table: [^\n]*-->\n(?<table>.*?)<!-- end of environment table -->", RegexOptions.Singleline)]
    private static partial Regex ReadmeTable();

    [GeneratedRegex(@"\bPIPELINE_[A-Z0-9_]+")]
    private static partial Regex VariableName();
}
