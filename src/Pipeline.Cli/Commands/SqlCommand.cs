using System.ComponentModel;
using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using DuckDB.NET.Data;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Pipeline.Cli.Commands;

/// <summary>
/// `pipeline sql`: one DuckDB query (DuckDB.NET, in process), printed as a table, CSV or JSON lines. The datasets are
/// Parquet that DuckDB reads as it is: <c>read_parquet('out/dataset/images/**/*.parquet', hive_partitioning=true)</c>.
/// </summary>
public sealed class SqlCommand : Command<SqlCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<QUERY>")]
        [Description("One SQL statement in DuckDB's dialect, e.g. \"SELECT count(*) FROM 'out/dataset/class_counts.parquet'\"")]
        public string Query { get; init; } = "";

        [CommandOption("--format <FORMAT>")]
        [Description("table, csv or json (one JSON object per row). Default: table")]
        [DefaultValue("table")]
        public string Format { get; init; } = "table";

        [CommandOption("--max-rows <N>")]
        [Description("Print at most N rows (the rest are counted, not printed); 0 prints all. Default: 1000")]
        [DefaultValue(1000)]
        public int MaxRows { get; init; } = 1000;

        public override ValidationResult Validate()
        {
            if (string.IsNullOrWhiteSpace(Query)) return ValidationResult.Error("the query is empty");
            if (Format is not ("table" or "csv" or "json")) return ValidationResult.Error($"--format {Format}: use table, csv or json");
            if (MaxRows < 0) return ValidationResult.Error($"--max-rows {MaxRows}: must be 0 (all) or more");
            return ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = settings.Query;
        DbDataReader reader;
        try
        {
            reader = command.ExecuteReader();
        }
        catch (DuckDBException e)
        {
            // a query DuckDB refuses (syntax, a missing file or column) is bad input
            throw new UserFacingException(e.Message.ReplaceLineEndings(" "));
        }
        using (reader)
        {
            var names = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToArray();
            long printed = 0, rows = 0;
            var table = new Table().Border(TableBorder.Simple);
            foreach (var name in names) table.AddColumn(Markup.Escape(name));
            if (settings.Format == "csv") Console.WriteLine(string.Join(",", names.Select(Csv)));
            while (reader.Read())
            {
                cancellation.ThrowIfCancellationRequested();
                rows++;
                if (settings.MaxRows > 0 && printed >= settings.MaxRows) continue;
                printed++;
                var values = Enumerable.Range(0, names.Length).Select(i => reader.IsDBNull(i) ? null : reader.GetValue(i)).ToArray();
                switch (settings.Format)
                {
                    case "csv":
                        Console.WriteLine(string.Join(",", values.Select(v => Csv(Text(v)))));
                        break;
                    case "json":
                        var row = new Dictionary<string, object?>();
                        for (int i = 0; i < names.Length; i++) row[names[i]] = values[i];
                        Console.WriteLine(JsonSerializer.Serialize(row));
                        break;
                    default:
                        table.AddRow(values.Select(v => Markup.Escape(Text(v))).ToArray());
                        break;
                }
            }
            if (settings.Format == "table")
            {
                // plain text when piped: no colour codes, and wide enough that no cell is wrapped
                var console = AnsiConsole.Create(new AnsiConsoleSettings
                {
                    Ansi = Console.IsOutputRedirected ? AnsiSupport.No : AnsiSupport.Detect,
                    Out = new AnsiConsoleOutput(Console.Out),
                });
                if (Console.IsOutputRedirected) console.Profile.Width = 4096;
                console.Write(table);
            }
            if (rows > printed)
                Console.Error.WriteLine($"{rows - printed:N0} more rows not printed (--max-rows {settings.MaxRows}); {rows:N0} in all");
        }
        return 0;
    }

    private static string Text(object? value) => value switch
    {
        null => "NULL",
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        System.Collections.IEnumerable list and not string => "[" + string.Join(", ", list.Cast<object?>().Select(Text)) + "]",
        _ => value.ToString() ?? "",
    };

    private static string Csv(string value) =>
        value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + value.Replace("\"", "\"\"") + "\"" : value;
}
