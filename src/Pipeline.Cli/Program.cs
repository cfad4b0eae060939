using Pipeline.Cli.Commands;
using Spectre.Console.Cli;

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("pipeline");
    config.PropagateExceptions();
    // a mistyped option or a stray word is an error that names it, never silently ignored (exit 2, nothing run)
    config.UseStrictParsing();
    config.SetInterceptor(new SettingsCheck());
    config.ValidateExamples();
    config.Settings.CancellationExitCode = ExitCodes.Interrupted;
    // every description states its default itself: a second DEFAULT column would say it twice
    config.Settings.ShowOptionDefaultValues = false;
    config.AddCommand<SynthCommand>("synth")
        .WithDescription("Write an iNat2017-shaped corpus: the release's JSON files and the JPEG tree.")
        .WithExample("synth", "--out", "corpus", "--scale", "0.01")
        .WithExample("synth", "--out", "full", "--scale", "1", "--no-images");
    config.AddCommand<StatsCommand>("stats")
        .WithDescription("The paper's Table 1 imbalance, Table 2 and Figure 2 figures, from the corpus JSON alone.")
        .WithExample("stats", "--corpus", "corpus", "--json");
    config.AddCommand<RunCommand>("run")
        .WithDescription("Run the main job in one process on an embedded single-node cluster (with no corpus: a generated demo corpus).")
        .WithExample("run")
        .WithExample("run", "--corpus", "corpus", "--out", "out", "--model", "none");
    config.AddCommand<NodeCommand>("node")
        .WithDescription("Start one long-running cluster node (coordinator or worker).")
        .WithExample("node", "--role", "coordinator", "--port", "4053")
        .WithExample("node", "--role", "worker", "--seed", "akka.tcp://pipeline@127.0.0.1:4053");
    config.AddCommand<SubmitCommand>("submit").WithDescription("Submit a job to a running cluster through the coordinator's HTTP API; prints the job id.");
    config.AddCommand<StatusCommand>("status").WithDescription("Show a job's progress from the coordinator's HTTP API (--watch: live until it finishes).");
    config.AddBranch("bench", bench =>
    {
        bench.SetDescription("Measure one stage alone.");
        bench.AddCommand<BenchEmbedCommand>("embed")
            .WithDescription("Embedding throughput on synthetic crops (CPU or CUDA, fp32 or fp16).")
            .WithExample("bench", "embed", "--device", "cuda", "--precision", "fp16", "--batch", "auto");
        bench.AddCommand<BenchPartitionsCommand>("partitions")
            .WithDescription("The partition processor alone, without the cluster (the baseline of the cluster's overhead).")
            .WithExample("bench", "partitions", "--corpus", "corpus", "--model", "none");
    });
    config.AddBranch("tls", tls =>
    {
        tls.SetDescription("Certificates for a closed cluster (mutual TLS between nodes).");
        tls.AddCommand<TlsInitCommand>("init")
            .WithDescription("Make a cluster CA and a node certificate (PKCS#12 with a generated password file).")
            .WithExample("tls", "init", "--out", "tls");
    });
    config.AddCommand<ReportCommand>("report").WithDescription("A self-contained HTML report of a dataset: Tables 1-4, Figures 2 and 4, sizes, quarantine.").WithExample("report", "--dataset", "out/dataset");
    config.AddCommand<SqlCommand>("sql")
        .WithDescription("Run one DuckDB SQL query (in process) over the dataset's Parquet files; prints a table, CSV or JSON lines.")
        .WithExample("sql", "SELECT split, supercategory, count(*) AS images FROM read_parquet('out/dataset/images/**/*.parquet', hive_partitioning=true) GROUP BY ALL ORDER BY ALL");
    config.AddCommand<ExportCommand>("export")
        .WithDescription("Write a finished dataset as WebDataset tar shards (JPEG, JSON labels and boxes, .npy embedding per image) with a manifest.")
        .WithExample("export", "--format", "webdataset", "--dataset", "out/dataset", "--out", "shards", "--shard-size", "256");
    config.AddCommand<ProbeCommand>("probe").WithDescription("A linear probe on the embeddings: train on train, top-1/top-5 on val (Tables 3 and 4).").WithExample("probe", "--dataset", "out/dataset");
});

try
{
    CommandDescriptionAttribute.Command = string.Join(' ', args.TakeWhile(a => !a.StartsWith('-')));
    // words after `--` would reach no option: refuse them before any check of the command's own settings
    if (Array.IndexOf(args, "--") is >= 0 and var dash && dash < args.Length - 1)
        throw new UserFacingException($"unexpected argument{(args.Length - dash > 2 ? "s" : "")} '{string.Join(" ", args[(dash + 1)..])}' after --: " +
                                      $"`pipeline {CommandDescriptionAttribute.Command} --help` lists the options");
    return await app.RunAsync(args);
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("pipeline: interrupted");
    return ExitCodes.Interrupted;
}
catch (Exception e) when (e is CommandAppException or UserFacingException or Pipeline.Embedding.EmbeddingDeviceException
                              or InvalidDataException or FileNotFoundException or DirectoryNotFoundException
                              or Akka.Configuration.ConfigurationException)
{
    // bad usage or bad input: what the user gave must change
    Console.Error.WriteLine($"pipeline: {OneLine(e.Message)}");
    return ExitCodes.BadUsage;
}
catch (IOException e)
{
    Console.Error.WriteLine($"pipeline: {OneLine(e.Message)}");
    return ExitCodes.Failed;
}

string OneLine(string message) => NameTheOption(message.ReplaceLineEndings(" ").Trim());

// Spectre says "Failed to convert 'abc' to Double.": say which option had the value
string NameTheOption(string message)
{
    var match = System.Text.RegularExpressions.Regex.Match(message, @"^Failed to convert '(.*)' to (\w+)\.$");
    if (!match.Success) return message;
    int at = Array.IndexOf(args, match.Groups[1].Value);
    string kind = match.Groups[2].Value switch { "Double" or "Single" => "a number", "Int32" or "Int64" => "a whole number", var t => t };
    return at > 0 ? $"{args[at - 1]} {match.Groups[1].Value}: not {kind}" : message;
}
