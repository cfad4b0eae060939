using Akka.Actor;
using Akka.Cluster;
using Akka.Event;

namespace Pipeline.Cluster.Hosting;

/// <summary>
/// A request, from inside a worker's actor system, that the process leave its cluster and start a new actor system that
/// joins its seeds again (an Akka.NET cluster member can never rejoin with the same actor system). `pipeline node` acts on it.
/// </summary>
public sealed class NodeRejoin
{
    private readonly TaskCompletionSource<string> _requested = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes with the reason once a rejoin is asked for.</summary>
    public Task<string> Requested => _requested.Task;

    public void Request(string reason) => _requested.TrySetResult(reason);
}

/// <summary>
/// On a worker: when this node is an Up member of a cluster that has had no coordinator member for <c>after</c> (the
/// coordinator was killed and downed, and a restarted one founded a cluster of its own from the same seeds), ask for a
/// rejoin, so a worker seeded to the coordinator only gets back to it.
/// </summary>
public sealed class CoordinatorWatch : ReceiveActor, IWithTimers
{
    private const string Role = "coordinator";
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private DateTime? _missingSince;

    public ITimerScheduler Timers { get; set; } = null!;

    public CoordinatorWatch(TimeSpan after, NodeRejoin rejoin)
    {
        Receive<Tick>(_ =>
        {
            if (_cluster.SelfMember.Status != MemberStatus.Up || HasCoordinator())
            {
                _missingSince = null;
                return;
            }
            _missingSince ??= DateTime.UtcNow;
            if (DateTime.UtcNow - _missingSince < after) return;
            var reason = $"no coordinator in this cluster for {after.TotalSeconds:F0} s: leaving it to rejoin the seed nodes";
            _log.Warning(reason);
            rejoin.Request(reason);
            Timers.CancelAll();
        });
    }

    protected override void PreStart() =>
        Timers.StartPeriodicTimer("tick", Tick.Instance, TimeSpan.FromSeconds(1));

    private bool HasCoordinator()
    {
        foreach (var member in _cluster.State.Members)
            if (member.HasRole(Role) && member.Status is MemberStatus.Joining or MemberStatus.WeaklyUp or MemberStatus.Up or MemberStatus.Leaving)
                return true;
        return false;
    }

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }
}
