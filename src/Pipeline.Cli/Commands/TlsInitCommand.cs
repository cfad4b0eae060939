using System.ComponentModel;
using Pipeline.Cluster.Remoting;
using Spectre.Console.Cli;

namespace Pipeline.Cli.Commands;

/// <summary>`pipeline tls init`: a cluster CA and a node certificate, so a cluster beyond loopback speaks mutual TLS.</summary>
public sealed class TlsInitCommand : Command<TlsInitCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--out <DIR>")]
        [Description("Folder for ca.crt, ca-key.pfx, ca-password, node.pfx and password (created; existing files are never overwritten)")]
        public string Out { get; init; } = "";

        [CommandOption("--days <N>")]
        [Description("Days the node certificate is valid. Default: 365 (the CA: 10 years)")]
        public int Days { get; init; } = 365;

        [CommandOption("--ca <DIR>")]
        [Description("Issue only a new node certificate from the CA that an earlier `tls init` wrote to DIR (rotation: peers keep trusting it)")]
        public string? Ca { get; init; }

        public override Spectre.Console.ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Out) ? Spectre.Console.ValidationResult.Error("--out DIR is required") : Spectre.Console.ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var files = ClusterCertificates.Create(settings.Out, settings.Days, settings.Ca is null ? null : new ClusterCertificateFiles(Path.GetFullPath(settings.Ca)));
        Console.WriteLine($"""
            wrote {files.Folder}:
              ca.crt       the cluster CA's certificate (public): every node trusts peers it issued
              node.pfx     the node certificate and key (PKCS#12), valid {settings.Days} days
              password     node.pfx's password
              ca-key.pfx   the CA's key and ca-password: keep them off the nodes (`pipeline tls init --ca {files.Folder} --out NEW` issues the next node certificate)

            start every node (coordinator, workers, `node --job`) with:
              export PIPELINE_TLS_CERT={files.NodeCertificate}
              export PIPELINE_TLS_CERT_PASSWORD_FILE={files.NodePassword}
              export PIPELINE_TLS_CA={files.CaCertificate}

            on Kubernetes (docs/kubernetes.md):
              kubectl -n pipeline create secret generic pipeline-cluster-tls --from-file={files.NodeCertificate} --from-file={files.NodePassword} --from-file={files.CaCertificate}
            """);
        return 0;
    }
}
