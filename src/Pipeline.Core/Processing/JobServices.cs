using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Pipeline.Boxes;
using Pipeline.Corpus;
using Pipeline.Embedding;
using Pipeline.Imaging;
using Pipeline.Jobs;
using Pipeline.Storage;

namespace Pipeline.Processing;

/// <summary>Embedding batches so far: the model's busy time against the wall time, and how long decode threads waited for it.</summary>
public sealed record EmbedderStats(string Device, string Precision, int BatchSize, long Batches, long FullBatches, long Images,
    TimeSpan Wall, TimeSpan ModelBusy, TimeSpan DecodeWaitedForModel, string? FallbackReason);

/// <summary>
/// The real computations behind the cluster on this node: planning from the corpus, partition processing with the
/// image, box and embedding stages, and the merge. One embedding session per process and model, shared by threads.
/// </summary>
public sealed class JobServices : IJobServices, IAsyncDisposable
{
    public const string NoModel = "none";
    public const string PackagedModel = "resnet18";

    private readonly int _threads;
    private readonly ConcurrentDictionary<string, Lazy<(EmbeddingSession Session, EmbeddingBatcher Batcher)>> _embedders = new();
    private readonly ConcurrentDictionary<string, string> _modelHashes = new();
    // output folders whose lock this process holds, by full path
    private readonly Dictionary<string, OwnedOutput> _outputs = new(StringComparer.Ordinal);

    private readonly Lazy<NodePipeline> _pipeline;

    private JobServices(int threads)
    {
        _threads = threads;
        _pipeline = new Lazy<NodePipeline>(() => new NodePipeline(threads));
    }

    public static JobServices Create(int threads) => new(Math.Max(1, threads));

    /// <summary>The model file a job uses, or null for no embeddings.</summary>
    public static string? ResolveModelPath(JobSpec spec) => spec.Model.ToLowerInvariant() switch
    {
        NoModel => null,
        PackagedModel => ModelSpec.DefaultModelPath,
        _ => Path.GetFullPath(spec.Model),
    };

    public static ModelSpec ResolveModelSpec(JobSpec spec)
    {
        var preset = spec.ModelPreset is { Length: > 0 } name
            ? ModelSpec.Preset(name)
            : string.Equals(spec.Model, PackagedModel, StringComparison.OrdinalIgnoreCase) ? ModelSpec.ResNet18Cntk : ModelSpec.ImageNetTorchvision;
        return preset with { InputSize = spec.ImageSize };
    }

    /// <summary>Checks a job's settings (<see cref="JobSpecRules"/>) and that what it names exists on this node, before
    /// anything is planned; the message says what to change. Without <paramref name="corpusMustExist"/> the corpus folder
    /// is left out: `pipeline run` checks the rest before it writes its demo corpus there.</summary>
    public static void Validate(JobSpec spec, bool corpusMustExist = true)
    {
        JobSpecRules.ThrowIfInvalid(spec);
        if (corpusMustExist && !Directory.Exists(spec.Corpus)) throw new InvalidDataException($"corpus folder {spec.Corpus} does not exist");
        ImageOptions(spec).Validate();
        var model = ResolveModelPath(spec);
        if (model is not null)
        {
            if (!File.Exists(model)) throw new InvalidDataException($"model file {model} does not exist");
            if (string.Equals(spec.Model, PackagedModel, StringComparison.OrdinalIgnoreCase) && spec.ImageSize != 224)
                throw new InvalidDataException($"the packaged ResNet-18 takes 224 px input, not {spec.ImageSize}; pass --model FILE for another size");
            ResolveModelSpec(spec).Validate();
        }
    }

    public static ImageStageOptions ImageOptions(JobSpec spec) =>
        new(spec.ResizeShorter, spec.ImageSize, spec.StoreShorter, spec.StoreQuality);

    private string ModelSha(JobSpec spec)
    {
        var path = ResolveModelPath(spec);
        return path is null ? NoModel : _modelHashes.GetOrAdd(path, ModelIdentity.Sha256);
    }

    public string Identify(JobSpec spec)
    {
        Validate(spec);
        return JobIdentity.Compute(spec, JobIdentity.CorpusFingerprint(spec.Corpus), ModelSha(spec));
    }

    public PreparedJob Prepare(JobSpec spec, CancellationToken cancellation)
    {
        var jobId = Identify(spec);
        var paths = new JobPaths(spec.Output);
        // read-only checks first: nothing is written or deleted before the job is valid and the folder is owned
        OutputFolder.CheckOwnership(paths.Output, spec.AllowNonEmptyOut);
        var modelSha = ModelSha(spec);
        cancellation.ThrowIfCancellationRequested();
        var owned = TakeOutput(paths.Output, jobId, cancellation);
        try
        {
            OutputFolder.CheckOwnership(paths.Output, spec.AllowNonEmptyOut); // again, now that no other run can write there
            var existing = PartitionPlanner.TryLoad(paths.PlanDir);
            if (existing is not null && existing.JobId == jobId)
            {
                // a rerun: partitions whose parts the user deleted (or a dataset deleted after the merge) are done again
                var redo = OutputFolder.DropMissingCommits(paths, jobId);
                return new PreparedJob(jobId, spec, modelSha, existing, new CorpusSummary(existing.Images, existing.Categories, []))
                    { Redone = redo, TookOverFrom = owned.TookOverFrom };
            }

            // another job's state in this output folder: a changed job starts anew (its dataset replaces the old one at merge)
            OutputFolder.ClearJobState(paths);
            cancellation.ThrowIfCancellationRequested();

            var reader = new CorpusReader(spec.Corpus);
            var splits = spec.Splits.Where(s => reader.AvailableSplits.Contains(s)).ToArray();
            if (splits.Length == 0)
                throw new InvalidDataException($"corpus {spec.Corpus} has none of the splits {string.Join(", ", spec.Splits)} (it has {string.Join(", ", reader.AvailableSplits)})");
            var categories = new Dictionary<int, Category>();
            foreach (var category in reader.Categories) categories[category.Id] = category;
            var staging = paths.PlanDir + ".tmp";
            var duplicates = new DuplicateImageIds();
            var plan = PartitionPlanner.Plan(jobId, duplicates.Watch(reader.ReadImages(splits)), categories, staging, spec.PartitionSize);
            duplicates.ThrowIfAny(spec.Corpus, reader.Issues);
            Directory.Move(staging, paths.PlanDir);
            DurableFiles.FsyncDirectory(paths.StateDir);
            var issues = new Dictionary<string, long>();
            foreach (var kind in Enum.GetValues<CorpusIssueKind>())
                if (reader.Issues.Count(kind) is > 0 and var count) issues[CorpusIssues.Code(kind)] = count;
            return new PreparedJob(jobId, spec, modelSha, plan, new CorpusSummary(plan.Images, categories.Count, issues))
                { TookOverFrom = owned.TookOverFrom };
        }
        catch
        {
            if (Directory.Exists(paths.PlanDir + ".tmp")) Directory.Delete(paths.PlanDir + ".tmp", recursive: true);
            ReleaseOutput(paths.Output, owned);
            throw;
        }
    }

    /// <summary>
    /// Takes the output folder's lock for a job (or keeps the one this process already holds there). Cancelling the job's
    /// token releases it, unless a merge is writing into the folder: then the merge's end does.
    /// </summary>
    private OutputLock TakeOutput(string output, string jobId, CancellationToken job)
    {
        OwnedOutput owned;
        lock (_outputs)
        {
            if (_outputs.Remove(output, out var previous)) previous.Lock.Dispose();
            owned = new OwnedOutput(OutputLock.Acquire(output, jobId, job));
            _outputs[output] = owned;
        }
        job.Register(() =>
        {
            lock (_outputs)
                if (!owned.Merging) ReleaseOutput(output, owned.Lock);
        });
        job.ThrowIfCancellationRequested();
        return owned.Lock;
    }

    private void ReleaseOutput(string output, OutputLock outputLock)
    {
        lock (_outputs)
        {
            if (_outputs.TryGetValue(output, out var owned) && owned.Lock == outputLock) _outputs.Remove(output);
            outputLock.Dispose();
        }
    }

    /// <summary>Releases the output folder a job of this process holds; the job run is over (any end state).</summary>
    public void Release(PreparedJob job)
    {
        var output = new JobPaths(job.Spec.Output).Output;
        lock (_outputs)
            if (_outputs.TryGetValue(output, out var owned))
                ReleaseOutput(output, owned.Lock);
    }

    /// <summary>Releases every output folder this process holds (process exit, Ctrl-C).</summary>
    public void ReleaseOutputs()
    {
        lock (_outputs)
        {
            foreach (var owned in _outputs.Values) owned.Lock.Dispose();
            _outputs.Clear();
        }
    }

    private sealed class OwnedOutput(OutputLock outputLock)
    {
        public OutputLock Lock { get; } = outputLock;
        public bool Merging { get; set; }
    }

    public async Task<PartitionOutcome> ExecuteAsync(PartitionWork work, IProgress<int>? progress, CancellationToken cancellation)
    {
        var spec = work.Spec;
        var embedder = EmbedderFor(spec);
        var decoder = DecoderRegistry.Create(spec.Decoder == "default" ? null : spec.Decoder);
        var pipeline = _pipeline.Value;
        // a model on the CPU gets its threads out of the node's cores, not on top of them
        pipeline.ActiveDecoders = embedder?.Session.Device == EmbeddingDevice.Cpu ? NodePipeline.CpuModelDecoders(_threads) : _threads;
        return await pipeline.ProcessAsync(work, decoder, ImageOptions(spec), embedder?.Batcher, progress, cancellation).ConfigureAwait(false);
    }

    /// <summary>The node pipeline's stage figures (read, decode, embed, write), or null before the first partition.</summary>
    public StageFigures? Stages() => _pipeline.IsValueCreated ? _pipeline.Value.Figures() : null;

    private (EmbeddingSession Session, EmbeddingBatcher Batcher)? EmbedderFor(JobSpec spec)
    {
        var model = ResolveModelPath(spec);
        if (model is null) return null;
        var key = $"{model}|{spec.ModelPreset}|{spec.ImageSize}|{spec.Device}|{spec.FallbackCpu}|{spec.Precision}|{spec.BatchSize}";
        return _embedders.GetOrAdd(key, _ => new Lazy<(EmbeddingSession, EmbeddingBatcher)>(() =>
        {
            var session = EmbeddingSession.Open(new EmbeddingOptions
            {
                ModelPath = model,
                Spec = ResolveModelSpec(spec),
                Device = spec.Device switch { "cuda" => EmbeddingDevice.Cuda, "auto" => EmbeddingDevice.Auto, _ => EmbeddingDevice.Cpu },
                FallbackToCpu = spec.FallbackCpu,
                Precision = spec.Precision == "fp16" ? EmbeddingPrecision.Fp16 : EmbeddingPrecision.Fp32,
                IntraOpThreads = NodePipeline.CpuModelIntraOpThreads(_threads),
            });
            var batch = spec.BatchSize > 0 ? spec.BatchSize
                : session.Device == EmbeddingDevice.Cuda
                    ? PreparedModelCache.BatchSize(session, () => EmbeddingThroughput.ChooseBatchSize(session, [64, 128, 256, 512], trialSeconds: 1))
                : 16; // measured here: larger CPU batches buy nothing (bench/results/embedding.md)
            return (session, new EmbeddingBatcher(session, batch));
        })).Value;
    }

    /// <summary>What each embedding batcher of this process did so far (the GPU's busy and waiting time).</summary>
    public IReadOnlyList<EmbedderStats> EmbeddingStats()
    {
        var stats = new List<EmbedderStats>();
        foreach (var lazy in _embedders.Values)
        {
            if (!lazy.IsValueCreated) continue;
            var (session, batcher) = lazy.Value;
            var (batches, full, images) = batcher.Counts;
            var (wall, busy, waited) = batcher.Utilisation;
            stats.Add(new EmbedderStats(session.Device.ToString().ToLowerInvariant(), session.Precision.ToString().ToLowerInvariant(),
                batcher.BatchSize, batches, full, images, wall, busy, waited, session.FallbackReason));
        }
        return stats;
    }

    public MergeSummary Merge(PreparedJob job, IReadOnlyList<PartitionOutcome> commits, CancellationToken cancellation)
    {
        var infos = job.Plan.Partitions.ToDictionary(p => p.Id);
        var histograms = PartitionHistograms.Sum(commits.Select(c => (infos[c.PartitionId], c.Histogram)));
        var classes = new Dictionary<(int Category, string Split), ClassCountRow>();
        foreach (var commit in commits)
        {
            var info = infos[commit.PartitionId];
            foreach (var tally in commit.Classes)
            {
                var ck = (tally.CategoryId, info.Split);
                classes[ck] = classes.TryGetValue(ck, out var row)
                    ? row with { Images = row.Images + tally.Images, Boxes = row.Boxes + tally.Boxes }
                    : new ClassCountRow(tally.CategoryId, tally.Species, info.Supercategory, info.Split, tally.Images, tally.Boxes);
            }
        }
        var bins = new List<HistogramBinRow>();
        foreach (var (split, super, histogram) in histograms.Entries)
            for (var b = 0; b < BoxSizeHistogram.BinCount; b++)
                bins.Add(new HistogramBinRow(split, super, BoxSizeHistogram.BinLow(b), BoxSizeHistogram.BinHigh(b), histogram.CountIn(b)));
        var classRows = classes.Values.OrderBy(c => c.Split, StringComparer.Ordinal).ThenBy(c => c.CategoryId).ToList();
        var configHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(job.Spec.SettingsFingerprint())));
        var output = new JobPaths(job.Spec.Output).Output;
        OwnedOutput? owned;
        lock (_outputs)
        {
            _outputs.TryGetValue(output, out owned);
            if (owned is not null) owned.Merging = true;
        }
        try
        {
            // a job that lost its folder (frozen past the lock's staleness while another run took it) publishes nothing
            owned?.Lock.ThrowIfLost();
            var result = DatasetMerger.MergeAsync(new MergeRequest(job.Spec.Output, job.JobId, configHash,
                job.ModelSha256 == NoModel ? null : job.ModelSha256, job.Plan.Images,
                commits.Select(c => c.Part).ToList(), bins, classRows), cancellation).GetAwaiter().GetResult();
            // committed parts live until merged
            PartFiles.DeleteMergedParts(job.Spec.Output);
            return new MergeSummary(result.DatasetPath, result.Files.Count, result.OutputRows, result.QuarantinedRows, result.Elapsed.TotalSeconds);
        }
        finally
        {
            // the merge ends the job run in every outcome: the folder is free again
            if (owned is not null) ReleaseOutput(output, owned.Lock);
        }
    }

    public async ValueTask DisposeAsync()
    {
        ReleaseOutputs();
        if (_pipeline.IsValueCreated) await _pipeline.Value.DisposeAsync().ConfigureAwait(false);
        foreach (var lazy in _embedders.Values)
        {
            if (!lazy.IsValueCreated) continue;
            await lazy.Value.Batcher.DisposeAsync().ConfigureAwait(false);
            lazy.Value.Session.Dispose();
        }
    }
}
