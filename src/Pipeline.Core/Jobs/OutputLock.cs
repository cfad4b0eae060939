using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Pipeline.Storage;

namespace Pipeline.Jobs;

/// <summary>Who holds an output folder: the lock file's content.</summary>
public sealed record OutputLockHolder(string Host, int Pid, string? Job, DateTimeOffset Since, string Token)
{
    /// <summary>Host, boot and pid namespace of the holder: equal to this process's when its pid can be checked here.</summary>
    public string? Machine { get; init; }
    /// <summary>Start time of the holder's process (UTC ticks), so a reused pid is not taken for the holder.</summary>
    public long ProcessStartTicks { get; init; }

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"host {Host}, pid {Pid}, job {Job ?? "(planning)"}, since {Since:yyyy-MM-dd HH:mm:ss}Z");
}

/// <summary>The output folder is owned by another live job or run.</summary>
public sealed class OutputInUseException(string message) : IOException(message);

/// <summary>
/// Sole ownership of an output folder while a job runs: <c>OUT/_pipeline/lock</c> is created exclusively (O_EXCL, atomic
/// on local file systems and NFSv3+) and holds the owner's host, pid, job and start time; the owner touches its mtime
/// every <see cref="HeartbeatInterval"/>. A lock is stale, and is taken over, when its owner ran on this machine (same
/// host, boot and pid namespace) and that process is gone, or, for an owner elsewhere, when its heartbeat is older than
/// <see cref="StaleAfter"/> (so hosts sharing a volume need clocks within a minute of each other). An OS lock (flock)
/// is not used: it is not reliable on every NFS setup, and it would keep readers from naming the holder.
/// Takeover of a stale lock is serialised by a second exclusive file, <c>lock.takeover</c>.
/// </summary>
public sealed class OutputLock : IDisposable
{
    public const string FileName = "lock";
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan TakeoverGuardStale = TimeSpan.FromSeconds(30);
    private static readonly Lazy<string?> ThisMachine = new(MachineIdentity);

    private readonly Timer _heartbeat;
    private int _released;

    private OutputLock(string path, OutputLockHolder holder, OutputLockHolder? tookOverFrom)
    {
        Path = path;
        Holder = holder;
        TookOverFrom = tookOverFrom;
        _heartbeat = new Timer(_ => Beat(), null, HeartbeatInterval, HeartbeatInterval);
    }

    public string Path { get; }
    public OutputLockHolder Holder { get; }
    /// <summary>The stale holder this lock replaced, if any (a crashed or killed run).</summary>
    public OutputLockHolder? TookOverFrom { get; }
    /// <summary>True once the lock file no longer names this owner (taken over while this process was frozen, or deleted).</summary>
    public bool Lost { get; private set; }

    public static string PathFor(string output) => new JobPaths(output).LockFile;

    /// <summary>
    /// Takes the output folder for <paramref name="job"/>, taking over a stale lock; throws <see cref="OutputInUseException"/>
    /// naming the holder when a live owner has it. The one wait: a holder on another machine running the same job is most
    /// likely this job's previous coordinator (a rescheduled pod), so its lock is awaited until it goes stale.
    /// </summary>
    public static OutputLock Acquire(string output, string? job, CancellationToken cancellation = default)
    {
        var path = PathFor(output);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        var waitUntil = DateTime.UtcNow + StaleAfter + HeartbeatInterval;
        for (var round = 0; round < 20; round++)
        {
            var me = NewHolder(job);
            if (TryCreate(path, me)) return new OutputLock(path, me, null);
            var (holder, age, exists) = Read(path);
            if (!exists) continue; // released meanwhile
            if (IsLive(holder, age))
            {
                if (job is null || holder?.Job != job || holder.Machine == ThisMachine.Value || DateTime.UtcNow > waitUntil)
                    throw InUse(output, holder);
                cancellation.WaitHandle.WaitOne(HeartbeatInterval);
                cancellation.ThrowIfCancellationRequested();
                round--;
                continue;
            }
            if (TakeOver(path, holder, me))
                return new OutputLock(path, me, holder);
            Thread.Sleep(100); // another process is taking it over right now
        }
        throw InUse(output, Read(path).Holder);
    }

    /// <summary>The live holder of an output folder's lock, or null when it is free, its holder is gone, or it is half-written.</summary>
    public static OutputLockHolder? FindLiveHolder(string output)
    {
        var (holder, age, exists) = Read(PathFor(output));
        return exists && IsLive(holder, age) ? holder : null;
    }

    /// <summary>Throws <see cref="OutputInUseException"/> naming the holder when a live job owns the folder; takes nothing.</summary>
    public static void ThrowIfHeld(string output)
    {
        var (holder, age, exists) = Read(PathFor(output));
        if (exists && IsLive(holder, age)) throw InUse(output, holder);
    }

    private static OutputInUseException InUse(string output, OutputLockHolder? holder) => new(holder is null
        ? $"output folder {output} is being taken by another run right now ({PathFor(output)} is being written); wait for it or choose another --out"
        : $"output folder {output} is in use by another job ({holder.Describe()}); wait for it to finish, stop it, or choose another --out. " +
          $"A crashed owner's lock ({PathFor(output)}) is taken over at once on its own machine, or {StaleAfter.TotalSeconds:F0} s after its last heartbeat elsewhere.");

    /// <summary>Throws when this lock was lost: nothing may be published into a folder another job now owns.</summary>
    public void ThrowIfLost()
    {
        if (Lost || !StillOurs())
        {
            Lost = true;
            var (holder, _, _) = Read(Path);
            throw new OutputInUseException($"this job lost its lock on {System.IO.Path.GetDirectoryName(System.IO.Path.GetDirectoryName(Path))} " +
                                           $"to {holder?.Describe() ?? "nobody (the lock file was removed)"}; nothing was published");
        }
    }

    /// <summary>Releases the folder: deletes the lock file if it still names this owner.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0) return;
        _heartbeat.Dispose();
        try
        {
            if (StillOurs()) File.Delete(Path);
        }
        catch (IOException) { /* a lock left behind is stale at once on this machine */ }
        catch (UnauthorizedAccessException) { }
    }

    private void Beat()
    {
        if (Volatile.Read(ref _released) != 0 || Lost) return;
        try
        {
            if (StillOurs()) File.SetLastWriteTimeUtc(Path, DateTime.UtcNow);
            else Lost = true;
        }
        catch (IOException) { /* a storage hiccup: the next beat tries again */ }
        catch (UnauthorizedAccessException) { }
    }

    private bool StillOurs() => Read(Path).Holder?.Token == Holder.Token;

    private static OutputLockHolder NewHolder(string? job)
    {
        using var self = Process.GetCurrentProcess();
        return new OutputLockHolder(Environment.MachineName, Environment.ProcessId, job, DateTimeOffset.UtcNow, Guid.NewGuid().ToString("N"))
        {
            Machine = ThisMachine.Value,
            ProcessStartTicks = self.StartTime.ToUniversalTime().Ticks,
        };
    }

    private static bool TryCreate(string path, OutputLockHolder holder)
    {
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        }
        catch (IOException) when (File.Exists(path))
        {
            return false;
        }
        using (file)
        {
            file.Write(JsonSerializer.SerializeToUtf8Bytes(holder, JobJson.Compact));
            file.Flush(flushToDisk: true);
        }
        DurableFiles.FsyncDirectory(System.IO.Path.GetDirectoryName(path)!);
        return true;
    }

    /// <summary>The holder (null when the file is being written or unreadable), the heartbeat's age, and whether the file exists.</summary>
    private static (OutputLockHolder? Holder, TimeSpan Age, bool Exists) Read(string path)
    {
        try
        {
            var age = DateTime.UtcNow - File.GetLastWriteTimeUtc(path);
            var bytes = File.ReadAllBytes(path);
            OutputLockHolder? holder = null;
            try { holder = JsonSerializer.Deserialize<OutputLockHolder>(bytes, JobJson.Compact); }
            catch (JsonException) { }
            return (holder, age, true);
        }
        catch (FileNotFoundException) { return (null, TimeSpan.Zero, false); }
        catch (DirectoryNotFoundException) { return (null, TimeSpan.Zero, false); }
    }

    private static bool IsLive(OutputLockHolder? holder, TimeSpan age)
    {
        if (holder is null) return age < StaleAfter; // half-written by a run starting now, or left by one that crashed then
        if (holder.Machine is not null && holder.Machine == ThisMachine.Value) return ProcessAlive(holder);
        return age < StaleAfter;
    }

    private static bool ProcessAlive(OutputLockHolder holder)
    {
        try
        {
            using var process = Process.GetProcessById(holder.Pid);
            if (process.HasExited) return false;
            // the same pid with another start time is a new process that reused the number
            return Math.Abs(process.StartTime.ToUniversalTime().Ticks - holder.ProcessStartTicks) < TimeSpan.TicksPerSecond;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
        catch (System.ComponentModel.Win32Exception) { return true; } // cannot look: assume it lives
    }

    /// <summary>Replaces a stale lock under the takeover guard; false when another process holds the guard.</summary>
    private static bool TakeOver(string path, OutputLockHolder? stale, OutputLockHolder me)
    {
        var guard = path + ".takeover";
        FileStream guardFile;
        try
        {
            guardFile = new FileStream(guard, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        }
        catch (IOException) when (File.Exists(guard))
        {
            // a guard left by a process that crashed mid-takeover is removed after a while
            if (DateTime.UtcNow - File.GetLastWriteTimeUtc(guard) > TakeoverGuardStale) DurableFiles.TryDelete(guard);
            return false;
        }
        guardFile.Dispose();
        try
        {
            var (current, age, exists) = Read(path);
            if (exists)
            {
                // someone released and re-took it meanwhile: not stale any more
                if (current?.Token != stale?.Token || IsLive(current, age)) return false;
                File.Delete(path);
            }
            return TryCreate(path, me);
        }
        finally
        {
            DurableFiles.TryDelete(guard);
        }
    }

    /// <summary>Host, boot id and pid namespace: processes that share them see each other's pids. Null off Linux.</summary>
    private static string? MachineIdentity()
    {
        try
        {
            if (!OperatingSystem.IsLinux()) return null;
            var boot = File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();
            var pidNamespace = new FileInfo("/proc/self/ns/pid").LinkTarget ?? "";
            return $"{Environment.MachineName}/{boot}/{pidNamespace}";
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
