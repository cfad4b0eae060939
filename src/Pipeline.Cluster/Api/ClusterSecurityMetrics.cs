using Pipeline.Cluster.Remoting;
using Prometheus;

namespace Pipeline.Cluster.Api;

/// <summary>The node's security posture as Prometheus gauges, in the API's registry (<see cref="PipelineMetrics.Registry"/>).</summary>
public static class ClusterSecurityMetrics
{
    public const string CertificateExpiry = "pipeline_tls_certificate_expiry_timestamp_seconds";
    public const string Insecure = "pipeline_cluster_port_insecure";

    public static void Register(CollectorRegistry registry, NodeEndpoint? endpoint)
    {
        if (endpoint is null) return;
        var factory = Metrics.WithCustomRegistry(registry);
        factory.CreateGauge(Insecure, "1 when the cluster port is open beyond loopback without TLS (--insecure), else 0.")
            .Set(endpoint.OpenWithoutTls ? 1 : 0);
        if (endpoint.Certificate is { } certificate)
            factory.CreateGauge(CertificateExpiry, "When this node's cluster TLS certificate expires, as Unix time: alert on it minus time() < 30 days.")
                .Set(new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero).ToUnixTimeSeconds());
    }
}
