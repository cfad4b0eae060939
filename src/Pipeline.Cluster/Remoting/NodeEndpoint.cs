using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace Pipeline.Cluster.Remoting;

/// <summary>
/// Where a node's cluster port listens (<see cref="BindHostname"/>) and the address its peers use to reach it
/// (<see cref="PublicHostname"/>, never 0.0.0.0). Closed by default: without a host a node binds loopback; beyond
/// loopback it needs TLS or an explicit <c>--insecure</c>.
/// </summary>
public sealed record NodeEndpoint(string BindHostname, string PublicHostname, int Port, bool Tls, bool Insecure)
{
    /// <summary>The node's own cluster certificate when TLS is on.</summary>
    public X509Certificate2? Certificate { get; init; }

    public bool LoopbackOnly => NodeEndpoints.IsLoopback(BindHostname);

    /// <summary>When the node's certificate expires, and what to do about it (null without TLS).</summary>
    public string? DescribeCertificate(DateTimeOffset now)
    {
        if (Certificate is null) return null;
        var left = new DateTimeOffset(Certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero) - now;
        var text = $"TLS certificate {Certificate.Subject} (sha256 {RemoteTls.Sha256(Certificate)}) expires {Certificate.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC";
        return left <= TimeSpan.Zero ? $"{text}: EXPIRED, peers refuse it; make a new one (`pipeline tls init`)"
            : left < TimeSpan.FromDays(30) ? $"{text}: in {left.TotalDays:F0} days, renew it soon"
            : $"{text} (in {left.TotalDays:F0} days)";
    }

    /// <summary>The cluster port is reachable beyond this machine without TLS: anyone reaching it can join and run jobs.</summary>
    public bool OpenWithoutTls => !Tls && !LoopbackOnly;

    /// <summary>What the node says at start about who can reach its cluster port.</summary>
    public string Describe() => OpenWithoutTls
        ? $"INSECURE: the cluster port {BindHostname}:{Port} is open without TLS (--insecure): any process that reaches it can join " +
          "the cluster and run jobs, whatever the API token; set up TLS with `pipeline tls init --out DIR` (README, \"Across machines: a closed cluster\")"
        : LoopbackOnly
            ? $"cluster port bound to {BindHostname}:{Port} (loopback only: no other machine can reach it; to open it give --hostname " +
              "and a TLS certificate, see `pipeline tls init`)"
            : $"cluster port bound to {BindHostname}:{Port}, advertised as {PublicHostname}, mutual TLS on";
}

public static class NodeEndpoints
{
    public const string Loopback = "127.0.0.1";

    /// <summary>
    /// Decides the bind and advertised addresses. <paramref name="hostname"/> empty: loopback. A non-loopback bind needs
    /// <paramref name="tls"/> or <paramref name="insecure"/>; a wildcard bind (0.0.0.0, ::) advertises
    /// <paramref name="publicHostname"/> or else this machine's first non-loopback address.
    /// </summary>
    /// <exception cref="InvalidDataException">beyond loopback without TLS, or no reachable address to advertise.</exception>
    public static NodeEndpoint Resolve(string? hostname, string? publicHostname, int port, bool tls, bool insecure,
        Func<string?>? machineAddress = null)
    {
        var bind = string.IsNullOrWhiteSpace(hostname) ? Loopback : hostname.Trim();
        if (!IsLoopback(bind) && !tls && !insecure)
            throw new InvalidDataException(
                $"refusing to open the cluster port on {bind} without TLS: anyone who reaches it could join the cluster and run jobs. " +
                "Make a certificate with `pipeline tls init --out DIR`, then start every node with PIPELINE_TLS_CERT=DIR/node.pfx " +
                "PIPELINE_TLS_CERT_PASSWORD_FILE=DIR/password PIPELINE_TLS_CA=DIR/ca.crt (README, \"Across machines: a closed cluster\"); " +
                "or leave out --hostname to stay on loopback, or pass --insecure on a network you trust");
        var advertised = string.IsNullOrWhiteSpace(publicHostname) ? null : publicHostname.Trim();
        if (advertised is not null && IsWildcard(advertised))
            throw new InvalidDataException($"--public-hostname {advertised} is not an address other nodes can reach: give this machine's address or name");
        if (advertised is null && IsWildcard(bind))
        {
            advertised = (machineAddress ?? FirstMachineAddress)()
                         ?? throw new InvalidDataException($"the cluster port is bound to {bind} but this machine has no non-loopback " +
                                                           "address to advertise: give --public-hostname");
        }
        return new NodeEndpoint(bind, advertised ?? bind, port, tls, insecure);
    }

    public static bool IsWildcard(string host) => host is "0.0.0.0" or "::" or "[::]" or "*" or "+";

    public static bool IsLoopback(string host)
    {
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)) return true;
        return IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address);
    }

    /// <summary>The first IPv4 address of an interface that is up and not loopback, or null.</summary>
    public static string? FirstMachineAddress()
    {
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.OperationalStatus != OperationalStatus.Up || nic.NetworkInterfaceType == NetworkInterfaceType.Loopback) continue;
            foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
                if (unicast.Address.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(unicast.Address))
                    return unicast.Address.ToString();
        }
        return null;
    }

    /// <summary>
    /// Fails at start when another process already listens on the cluster port (Akka.Remote would otherwise start and
    /// silently share or lose it). Port 0 picks a free port and needs no check.
    /// </summary>
    /// <exception cref="InvalidDataException">the port is taken.</exception>
    public static void EnsurePortFree(NodeEndpoint endpoint)
    {
        if (endpoint.Port == 0) return;
        var address = IsWildcard(endpoint.BindHostname) ? IPAddress.Any
            : IPAddress.TryParse(endpoint.BindHostname.Trim('[', ']'), out var parsed) ? parsed
            : Dns.GetHostAddresses(endpoint.BindHostname).FirstOrDefault() ?? IPAddress.Loopback;
        using var probe = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        // SO_REUSEADDR alone (not .NET's ReuseAddress, which adds SO_REUSEPORT on Linux and would share a live listener):
        // a port left in TIME_WAIT by this node's previous run is free, one another process listens on is not
        if (OperatingSystem.IsLinux()) probe.SetRawSocketOption(1 /* SOL_SOCKET */, 2 /* SO_REUSEADDR */, BitConverter.GetBytes(1));
        try
        {
            probe.Bind(new IPEndPoint(address, endpoint.Port));
            probe.Listen(1);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressAlreadyInUse or SocketError.AccessDenied)
        {
            throw new InvalidDataException(e.SocketErrorCode == SocketError.AddressAlreadyInUse
                ? $"port {endpoint.Port} on {endpoint.BindHostname} is already in use (another node?): give another --port"
                : $"port {endpoint.Port} on {endpoint.BindHostname} cannot be opened ({e.Message}): give another --port");
        }
    }
}
