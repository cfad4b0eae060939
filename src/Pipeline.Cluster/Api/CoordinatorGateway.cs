using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Cluster.Coordinator;
using Pipeline.Cluster.Protocol;
using Pipeline.Jobs;

namespace Pipeline.Cluster.Api;

/// <summary>The coordinator singleton did not answer in time, or this node's actor system is not up yet.</summary>
public sealed class CoordinatorUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The API's one way into the cluster: asks the JobManager singleton (through this node's proxy) with the protocol's
/// messages. The actor system and registry are resolved from the node's services on first use, so the API can be
/// registered before Akka.Hosting has started them.
/// </summary>
public sealed class CoordinatorGateway(IServiceProvider nodeServices, ApiOptions options)
{
    public ActorSystem System => nodeServices.GetRequiredService<ActorSystem>();

    /// <summary>This node's cluster membership status, or null when the actor system is not up.</summary>
    public Member? SelfMember
    {
        get
        {
            try { return Akka.Cluster.Cluster.Get(System).SelfMember; }
            catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException) { return null; }
        }
    }

    public Task<JobStatus> StatusAsync(CancellationToken cancellation) =>
        AskAsync<JobStatus>(GetJobStatus.Instance, options.AskTimeout, cancellation);

    /// <summary>Answers <see cref="JobStatus"/>, or <see cref="JobRejected"/> for a job the coordinator does not know.</summary>
    public Task<object> JobAsync(string jobId, CancellationToken cancellation) =>
        AskAsync<object>(new GetJob(jobId), options.AskTimeout, cancellation);

    public Task<JobList> JobsAsync(CancellationToken cancellation) =>
        AskAsync<JobList>(ListJobs.Instance, options.AskTimeout, cancellation);

    /// <summary>Answers <see cref="JobAccepted"/> (queued or running) or <see cref="JobRejected"/>; waits while the coordinator
    /// plans a job that starts at once.</summary>
    public Task<object> SubmitAsync(JobSpec spec, CancellationToken cancellation) =>
        AskAsync<object>(new SubmitJob(spec), options.SubmitTimeout, cancellation);

    /// <summary>Answers <see cref="JobStatus"/> (cancelled) or <see cref="JobRejected"/> saying why not (unknown, finished, merging).</summary>
    public Task<object> CancelAsync(string jobId, CancellationToken cancellation) =>
        AskAsync<object>(new CancelJob(jobId), options.AskTimeout, cancellation);

    private async Task<T> AskAsync<T>(object message, TimeSpan timeout, CancellationToken cancellation)
    {
        IActorRef proxy;
        try
        {
            proxy = nodeServices.GetRequiredService<ActorRegistry>().Get<JobManagerProxy>();
        }
        catch (Exception e) when (e is MissingActorRegistryEntryException or InvalidOperationException or ObjectDisposedException)
        {
            throw new CoordinatorUnavailableException("this node's actor system is not up yet", e);
        }
        try
        {
            return await proxy.Ask<T>(message, timeout, cancellation);
        }
        catch (AskTimeoutException e)
        {
            throw new CoordinatorUnavailableException(
                $"the coordinator did not answer within {timeout.TotalSeconds:0.#} s (is a node with the coordinator role up and joined?)", e);
        }
    }
}
