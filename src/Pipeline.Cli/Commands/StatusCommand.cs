using System.ComponentModel;
using System.Globalization;
using System.Text;
using Pipeline.Cluster.Api;
using Pipeline.Cluster.Protocol;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Rendering;

namespace Pipeline.Cli.Commands;

/// <summary>
/// `pipeline status`: the coordinator's jobs from its HTTP API. With no --job: every job, one line each. With --job (or
/// --watch): one job's progress; --watch follows it until it ends, on a terminal as a live display with a bar for the job
/// and one per worker, redirected as plain lines (one every few seconds, and at each change of state). The exit code says
/// how the job stands: 1 when it failed or was cancelled, else 0.
/// </summary>
public sealed class StatusCommand : AsyncCommand<StatusCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--api <URL>")]
        [Description("The coordinator's HTTP API, e.g. http://coordinator:8080. Default: $PIPELINE_API_URL")]
        public string? Api { get; init; }

        [CommandOption("--token <TOKEN>")]
        [Description("Bearer token, when the coordinator protects reads. Default: $PIPELINE_API_TOKEN or $PIPELINE_API_TOKEN_FILE")]
        public string? Token { get; init; }

        [CommandOption("--job <ID>")]
        [Description("The job to show. Default: the list of every job (with --watch: the coordinator's current job)")]
        public string? Job { get; init; }

        [CommandOption("--watch")]
        [Description("Keep showing progress until the job finishes; exit 0 if it succeeded, 1 otherwise")]
        public bool Watch { get; init; }

        [CommandOption("--interval <SECONDS>")]
        [Description("Seconds between updates with --watch. Default: 1")]
        [DefaultValue(1.0)]
        public double Interval { get; init; } = 1.0;

        public override ValidationResult Validate() =>
            Interval is >= 0.1 and <= 3600 ? ValidationResult.Success() : ValidationResult.Error("--interval must be between 0.1 and 3600 seconds");
    }

    /// <summary>How long --watch keeps retrying while the coordinator does not answer (it may be restarting or handing over).</summary>
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan PlainLineEvery = TimeSpan.FromSeconds(5);
    private const int BarWidth = 36;

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        using var client = ApiConnection.Open(settings.Api, settings.Token);
        var interactive = !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        if (settings.Job is null && !settings.Watch)
        {
            JobView[] jobs;
            try { jobs = await client.JobsAsync(cancellation); }
            catch (ApiRequestException e) { throw new UserFacingException(e.Message); }
            if (interactive) AnsiConsole.Write(RenderList(jobs));
            else foreach (var line in ListLines(jobs)) Console.WriteLine(line);
            return 0;
        }
        var first = await FetchAsync(client, settings.Job, cancellation);
        if (!settings.Watch)
        {
            if (interactive) AnsiConsole.Write(Render(first));
            else foreach (var line in PlainLines(first)) Console.WriteLine(line);
            return first.State is JobPhase.Failed or JobPhase.Cancelled ? 1 : 0;
        }
        var last = interactive
            ? await WatchLiveAsync(client, settings, first, cancellation)
            : await WatchPlainAsync(client, settings, first, cancellation);
        return last.State == JobStates.Succeeded ? 0 : 1;
    }

    /// <summary>One line per job, in queue order: id, state, partitions, images, when it was submitted, and its dataset or error.</summary>
    public static List<string> ListLines(IReadOnlyList<JobView> jobs)
    {
        if (jobs.Count == 0) return ["no jobs"];
        var inv = CultureInfo.InvariantCulture;
        var lines = new List<string>();
        foreach (var v in jobs)
            lines.Add(string.Format(inv, "{0} {1,-9} {2}/{3} partitions · {4:N0}/{5:N0} images · submitted {6:yyyy-MM-dd HH:mm:ss}Z · {7} elapsed · {8}",
                v.JobId, JobStates.Name(v.State), v.Partitions.Committed, v.Partitions.Total, v.ImagesDone, v.Images,
                v.SubmittedAt?.UtcDateTime, StatusView.FormatDuration(v.ElapsedSeconds), v.Error ?? v.Dataset ?? v.Output));
        return lines;
    }

    private static IRenderable RenderList(IReadOnlyList<JobView> jobs)
    {
        if (jobs.Count == 0) return new Markup("[grey]no jobs[/]");
        var inv = CultureInfo.InvariantCulture;
        var table = new Table().Border(TableBorder.Simple)
            .AddColumn("job").AddColumn("state").AddColumn(new TableColumn("partitions").RightAligned())
            .AddColumn(new TableColumn("images").RightAligned()).AddColumn("submitted").AddColumn(new TableColumn("elapsed").RightAligned())
            .AddColumn("dataset / error");
        foreach (var v in jobs)
            table.AddRow(
                new Markup(Markup.Escape(v.JobId ?? "")),
                new Markup($"[{StateColor(v.State)}]{JobStates.Name(v.State)}[/]"),
                new Markup($"{v.Partitions.Committed}/{v.Partitions.Total}"),
                new Markup(string.Format(inv, "{0:N0}/{1:N0}", v.ImagesDone, v.Images)),
                new Markup(v.SubmittedAt?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", inv) ?? ""),
                new Markup(StatusView.FormatDuration(v.ElapsedSeconds)),
                new Markup(v.Error is not null ? $"[red]{Markup.Escape(v.Error)}[/]" : Markup.Escape(v.Dataset ?? v.Output ?? "")));
        return table;
    }

    private static string StateColor(JobPhase state) => state switch
    {
        JobPhase.Succeeded => "green",
        JobPhase.Failed or JobPhase.Cancelled => "red",
        JobPhase.Idle or JobPhase.Queued => "grey",
        _ => "yellow",
    };

    private static async Task<JobView> FetchAsync(PipelineApiClient client, string? job, CancellationToken cancellation)
    {
        try
        {
            return await client.JobAsync(job, cancellation);
        }
        catch (ApiRequestException e)
        {
            throw new UserFacingException(e.Message);
        }
    }

    private static async Task<JobView> WatchLiveAsync(PipelineApiClient client, Settings settings, JobView first, CancellationToken cancellation)
    {
        var view = first;
        var poll = new JobPoll(client, settings);
        await AnsiConsole.Live(Render(view)).AutoClear(false).StartAsync(async live =>
        {
            while (!view.Finished)
            {
                var (next, problem) = await poll.NextAsync(cancellation);
                view = next ?? view;
                live.UpdateTarget(problem is null ? Render(view) : new Rows(Render(view), new Markup($"[yellow]{Markup.Escape(problem)}[/]")));
            }
        });
        return view;
    }

    /// <summary>One wait and one read of the job for a watch: a failing API is retried (the problem said) for up to
    /// <see cref="GiveUpAfter"/>; a refusal ends the watch at once.</summary>
    private sealed class JobPoll(PipelineApiClient client, Settings settings)
    {
        private DateTimeOffset? _failingSince;

        /// <returns>The job now, or null with the problem to show while retrying.</returns>
        public async Task<(JobView? View, string? Problem)> NextAsync(CancellationToken cancellation)
        {
            await Task.Delay(TimeSpan.FromSeconds(settings.Interval), cancellation);
            try
            {
                var view = await client.JobAsync(settings.Job, cancellation);
                _failingSince = null;
                return (view, null);
            }
            catch (ApiRequestException e) when (e.Status is 0 or >= 500)
            {
                _failingSince ??= DateTimeOffset.UtcNow;
                if (DateTimeOffset.UtcNow - _failingSince > GiveUpAfter) throw new UserFacingException(e.Message);
                return (null, e.Message + " (retrying)");
            }
            catch (ApiRequestException e)
            {
                throw new UserFacingException(e.Message);
            }
        }
    }

    private static async Task<JobView> WatchPlainAsync(PipelineApiClient client, Settings settings, JobView first, CancellationToken cancellation)
    {
        var view = first;
        foreach (var line in PlainLines(view)) Console.WriteLine(line);
        var printedAt = DateTimeOffset.UtcNow;
        var printedState = view.State;
        var poll = new JobPoll(client, settings);
        while (!view.Finished)
        {
            var (next, problem) = await poll.NextAsync(cancellation);
            if (next is null)
            {
                Console.WriteLine(problem);
                continue;
            }
            view = next;
            if (view.State == printedState && !view.Finished && DateTimeOffset.UtcNow - printedAt < PlainLineEvery) continue;
            foreach (var line in PlainLines(view)) Console.WriteLine(line);
            printedAt = DateTimeOffset.UtcNow;
            printedState = view.State;
        }
        return view;
    }

    /// <summary>The job line, then one line per worker, the quarantine by kind and the job's error: for logs and pipes.</summary>
    public static List<string> PlainLines(JobView v)
    {
        var inv = CultureInfo.InvariantCulture;
        var lines = new List<string>
        {
            string.Format(inv, "job {0} {1}: {2}/{3} partitions ({4} in flight, {5} queued) · {6:N0}/{7:N0} images ({8:0.0}%) · {9:N1} img/s · ETA {10} · {11} elapsed · {12:N0} quarantined",
                v.JobId ?? "-", JobStates.Name(v.State), v.Partitions.Committed, v.Partitions.Total, v.Partitions.InFlight, v.Partitions.Queued,
                v.ImagesDone, v.Images, v.Progress * 100, v.ImagesPerSecond, Eta(v), StatusView.FormatDuration(v.ElapsedSeconds), v.Quarantined),
        };
        foreach (var w in v.Workers)
            lines.Add(string.Format(inv, "  worker {0} [{1}]: {2} partition(s) · {3:N0} images · {4:N1} img/s · heartbeat {5:N1} s ago",
                w.Worker, string.Join(",", w.Roles), w.Partitions, w.ImagesDone, w.ImagesPerSecond, w.HeartbeatAgeSeconds));
        if (v.QuarantineByKind.Count > 0)
        {
            var kinds = new StringBuilder();
            foreach (var (kind, count) in v.QuarantineByKind.OrderByDescending(k => k.Value))
                kinds.Append(kinds.Length > 0 ? ", " : "").Append(kind).Append(' ').Append(count.ToString(inv));
            lines.Add("  quarantined by kind: " + kinds);
        }
        if (v.Waiting is not null) lines.Add("  " + v.Waiting);
        if (v.Warning is not null) lines.Add("  warning: " + v.Warning);
        if (v.Error is not null) lines.Add("  error: " + v.Error);
        if (v.Dataset is not null) lines.Add("  dataset: " + v.Dataset);
        return lines;
    }

    /// <summary>The live display: the job's bar with ETA, then a throughput bar per worker.</summary>
    public static IRenderable Render(JobView v)
    {
        var inv = CultureInfo.InvariantCulture;
        var color = StateColor(v.State);
        var rows = new List<IRenderable>
        {
            new Markup($"Job [bold]{Markup.Escape(v.JobId ?? "(none)")}[/] [{color}]{JobStates.Name(v.State)}[/] · {StatusView.FormatDuration(v.ElapsedSeconds)} elapsed" +
                       (v.Output is null ? "" : $" · [grey]{Markup.Escape(v.Output)}[/]")),
        };

        var jobs = new Table().Border(TableBorder.None).HideHeaders()
            .AddColumn("").AddColumn("").AddColumn(new TableColumn("").RightAligned());
        jobs.AddRow(new Markup("[bold]total[/]"), new Markup(Bar(v.Progress, "green")),
            new Markup(string.Format(inv, "{0:N0}/{1:N0} images · {2:0.0}% · {3:N1} img/s · ETA {4}",
                v.ImagesDone, v.Images, v.Progress * 100, v.ImagesPerSecond, Eta(v))));
        var partitionShare = v.Partitions.Total > 0 ? (double)v.Partitions.Committed / v.Partitions.Total : 0;
        jobs.AddRow(new Markup("partitions"), new Markup(Bar(partitionShare, "green")),
            new Markup(string.Format(inv, "{0}/{1} committed · {2} in flight · {3} queued",
                v.Partitions.Committed, v.Partitions.Total, v.Partitions.InFlight, v.Partitions.Queued)));
        rows.Add(jobs);

        if (v.Workers.Length > 0)
        {
            var fastest = 0.0;
            foreach (var w in v.Workers) fastest = Math.Max(fastest, w.ImagesPerSecond);
            var workers = new Table().Border(TableBorder.Simple)
                .AddColumn("worker").AddColumn("img/s").AddColumn(new TableColumn("").RightAligned())
                .AddColumn(new TableColumn("images").RightAligned()).AddColumn(new TableColumn("partitions").RightAligned())
                .AddColumn(new TableColumn("heartbeat").RightAligned());
            foreach (var w in v.Workers)
            {
                var stale = w.HeartbeatAgeSeconds > 5;
                workers.AddRow(
                    new Markup($"{Markup.Escape(w.Worker)} [grey]{Markup.Escape(string.Join(",", w.Roles))}[/]"),
                    new Markup(Bar(fastest > 0 ? w.ImagesPerSecond / fastest : 0, w.Roles.Contains("gpu") ? "darkorange" : "blue")),
                    new Markup(w.ImagesPerSecond.ToString("N1", inv)),
                    new Markup(w.ImagesDone.ToString("N0", inv)),
                    new Markup(w.Partitions.ToString(inv)),
                    new Markup((stale ? "[red]" : "") + w.HeartbeatAgeSeconds.ToString("N1", inv) + " s ago" + (stale ? "[/]" : "")));
            }
            rows.Add(workers);
        }
        if (v.Quarantined > 0 || v.QuarantineByKind.Count > 0)
        {
            var kinds = string.Join(", ", v.QuarantineByKind.OrderByDescending(k => k.Value).Select(k => $"{k.Key} {k.Value}"));
            rows.Add(new Markup($"[yellow]{v.Quarantined.ToString("N0", inv)} quarantined[/] {Markup.Escape(kinds)}"));
        }
        if (v.Waiting is not null) rows.Add(new Markup($"[yellow]{Markup.Escape(v.Waiting)}[/]"));
        if (v.Warning is not null) rows.Add(new Markup($"[red]warning:[/] {Markup.Escape(v.Warning)}"));
        if (v.Error is not null) rows.Add(new Markup($"[red]{Markup.Escape(v.Error)}[/]"));
        if (v.Dataset is not null) rows.Add(new Markup($"[green]dataset[/] {Markup.Escape(v.Dataset)}"));
        return new Rows(rows);
    }

    // "done" only for a job that succeeded; a failed or cancelled one has no ETA (its state leads the line)
    private static string Eta(JobView v) => v.Finished && v.State == JobPhase.Succeeded ? "done"
        : !v.Finished && v.EtaSeconds is { } eta ? StatusView.FormatDuration(eta) : "--:--";

    private static string Bar(double fraction, string color)
    {
        var filled = (int)Math.Round(Math.Clamp(fraction, 0, 1) * BarWidth);
        return $"[{color}]{new string('━', filled)}[/][grey23]{new string('━', BarWidth - filled)}[/]";
    }
}
