using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Cluster.Api;
using Pipeline.Cluster.Hosting;
using Pipeline.Jobs;

namespace Pipeline.Tests.Api;

/// <summary>The API's edges against hostile input: oversized chunked bodies, output folders it must never write, log forging.</summary>
[Trait("Category", "Security")]
[Trait("Category", "Slow")]
public sealed class HardenedEdgeTests(RefusingNodeFixture fixture) : IClassFixture<RefusingNodeFixture>
{
    private readonly ApiTestNode _node = fixture.Node;

    /// <summary>A body of unknown length: HttpClient sends it chunked, with no Content-Length to refuse up front.</summary>
    private sealed class UnsizedContent(byte[] bytes) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    [Fact]
    public async Task Oversized_chunked_body_is_refused_with_413_not_500()
    {
        var json = "{\"corpus\": \"/tmp/c\", \"output\": \"/tmp/o\", \"x\": \"" + new string('a', 4 * ApiEndpoints.MaxSubmitBytes) + "\"}";
        using var request = _node.Request(HttpMethod.Post, "/jobs");
        request.Content = new UnsizedContent(Encoding.UTF8.GetBytes(json));
        request.Content.Headers.ContentType = new("application/json");
        using var response = await _node.Client.SendAsync(request);

        Assert.Null(request.Content.Headers.ContentLength);
        Assert.True(request.Headers.TransferEncodingChunked ?? true);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var current = await _node.JobAsync();
        Assert.Null(current.JobId);
    }

    [Theory]
    [InlineData("/proc/self", "/proc")]
    [InlineData("/sys/kernel/out", "/sys")]
    [InlineData("/dev/shm/out", "/dev")]
    [InlineData("/dev", "/dev")]
    public async Task Output_under_a_kernel_file_system_is_refused_with_a_one_line_reason(string output, string named)
    {
        var body = JsonSerializer.Serialize(new { corpus = _node.Corpus, output, model = "none" });
        using var response = await _node.Client.SendAsync(_node.Request(HttpMethod.Post, "/jobs", body));
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problems = JsonDocument.Parse(text).RootElement.GetProperty("errors").EnumerateArray().Select(e => e.GetString()!).ToList();
        var reason = Assert.Single(problems, p => p.Contains("kernel file system", StringComparison.Ordinal));
        Assert.Contains($"under {named}", reason);
        Assert.DoesNotContain('\n', reason);
    }

    [Fact]
    public async Task Output_that_is_a_file_or_a_link_into_proc_is_refused()
    {
        var folder = Directory.CreateTempSubdirectory("pipeline-outcheck-").FullName;
        try
        {
            var file = Path.Combine(folder, "dataset.parquet");
            await File.WriteAllTextAsync(file, "not a folder");
            var link = Path.Combine(folder, "innocent");
            File.CreateSymbolicLink(link, "/proc/self");

            var problems = new List<string>();
            OutputPathCheck.Validate(file, problems);
            OutputPathCheck.Validate(Path.Combine(link, "out"), problems);
            OutputPathCheck.Validate(Path.Combine(folder, "new", "out"), problems);
            OutputPathCheck.Validate(folder, problems);

            Assert.Equal(2, problems.Count);
            Assert.Contains("is a file, not a folder", problems[0]);
            Assert.Contains("under /proc", problems[1]);

            var body = JsonSerializer.Serialize(new { corpus = _node.Corpus, output = file, model = "none" });
            using var response = await _node.Client.SendAsync(_node.Request(HttpMethod.Post, "/jobs", body));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("is a file, not a folder", await response.Content.ReadAsStringAsync());
            Assert.Null((await _node.JobAsync()).JobId);
            Assert.Equal("not a folder", await File.ReadAllTextAsync(file));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Log_lines_escape_newlines_and_control_characters_in_messages_and_exceptions()
    {
        var formatter = new EscapingConsoleFormatter();
        var forged = "/jobs/x\n15:00:00 crit: Pipeline.Api token accepted\r\u001b[2J\u0007\u2028end";
        using var writer = new StringWriter();
        var entry = new LogEntry<string>(LogLevel.Warning, "Pipeline.Api", new EventId(1), $"refused {forged}", new InvalidDataException("bad\nname"),
            (state, _) => state);
        formatter.Write(entry, null, writer);
        var lines = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Contains("refused /jobs/x\\n15:00:00 crit: Pipeline.Api token accepted\\r\\u001b[2J\\u0007\\u2028end", lines[0]);
        Assert.StartsWith("    System.IO.InvalidDataException: bad\\nname", lines[1]);
        Assert.DoesNotContain(lines, l => l.StartsWith("15:00:00", StringComparison.Ordinal));
        Assert.DoesNotContain(writer.ToString(), c => c != '\n' && char.IsControl(c));
    }
}
