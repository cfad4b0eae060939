using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Configuration;
using Akka.Event;
using Akka.Remote.Hosting;
using Akka.Remote.Transport.DotNetty;
using Pipeline.Cluster.Configuration;

namespace Pipeline.Cluster.Remoting;

/// <summary>
/// Where a node's cluster certificate comes from and which peers it accepts. <see cref="CertificatePath"/> is a PKCS#12
/// (.pfx) file with the private key. Peers are accepted when they present a certificate that chains to
/// <see cref="CaCertificatePath"/> (when set), or else one whose SHA-256 is this node's own certificate's or one of
/// <see cref="TrustedSha256"/> (one shared cluster certificate, plus the next one during a rotation).
/// </summary>
public sealed record RemoteTlsSettings(string CertificatePath, string? Password, IReadOnlyList<string> TrustedSha256, string? CaCertificatePath)
{
    // the generated record ToString would print the password into any log line that formats the settings
    public override string ToString() =>
        $"RemoteTlsSettings {{ CertificatePath = {CertificatePath}, Password = {(Password is null ? "none" : "set")}, " +
        $"TrustedSha256 = [{string.Join(", ", TrustedSha256)}], CaCertificatePath = {CaCertificatePath ?? "none"} }}";
}

/// <summary>
/// Akka.Remote over TLS with mutual authentication, switched on by configuration: <c>pipeline.tls.*</c> in HOCON
/// (cluster-config/tls.conf) or the environment (PIPELINE_TLS_CERT, PIPELINE_TLS_CERT_PASSWORD or
/// PIPELINE_TLS_CERT_PASSWORD_FILE, PIPELINE_TLS_CA, PIPELINE_TLS_TRUSTED_SHA256), the environment winning.
/// A node without the certificate (plain TCP, or another certificate) never completes the handshake, so it never joins.
/// </summary>
public static class RemoteTls
{
    public const string CertificateVariable = NodeEnvironment.TlsCertificate;
    public const string PasswordVariable = NodeEnvironment.TlsPassword;
    public const string PasswordFileVariable = NodeEnvironment.TlsPasswordFile;
    public const string CaVariable = NodeEnvironment.TlsCa;
    public const string TrustedVariable = NodeEnvironment.TlsTrusted;

    /// <summary>Addresses of nodes that speak TLS: Akka.Remote names the transport akka.ssl.tcp, not akka.tcp.</summary>
    public const string TlsScheme = "akka.ssl.tcp";
    public const string PlainScheme = "akka.tcp";

    /// <summary>The TLS settings of a node, or null when neither the configuration nor the environment names a certificate.</summary>
    /// <exception cref="InvalidDataException">TLS is switched on without a certificate, or a password file is missing or empty.</exception>
    public static RemoteTlsSettings? Load(Config config, Func<string, string?>? environment = null)
    {
        config = NodeEnvironment.Apply(config, environment);
        var certificate = NodeEnvironment.Text(config, "pipeline.tls.certificate");
        var enabledText = NodeEnvironment.Text(config, "pipeline.tls.enabled");
        var enabled = certificate is not null || (enabledText is not null && NodeEnvironment.ParseSwitch(enabledText, "pipeline.tls.enabled"));
        if (!enabled) return null;
        if (certificate is null)
            throw new InvalidDataException($"pipeline.tls.enabled is on but no certificate is configured (pipeline.tls.certificate or {CertificateVariable})");

        // a password file, where one is named, wins over a password (a variable voids the other kind: NodeEnvironment.Settings)
        var passwordFile = NodeEnvironment.Text(config, "pipeline.tls.password-file");
        var password = passwordFile is not null ? ReadPasswordFile(passwordFile) : NodeEnvironment.Text(config, "pipeline.tls.password");

        var trusted = new List<string>();
        if (config.HasPath("pipeline.tls.trusted-sha256"))
            trusted.AddRange(config.GetStringList("pipeline.tls.trusted-sha256"));
        for (var i = 0; i < trusted.Count; i++) trusted[i] = NormalizeSha256(trusted[i]);

        var ca = NodeEnvironment.Text(config, "pipeline.tls.ca-certificate");
        return new RemoteTlsSettings(certificate, password, trusted, ca);
    }

    /// <summary>
    /// Switches TLS on for <paramref name="remote"/> when the configuration or the environment asks for it (see
    /// <see cref="Load"/>); otherwise returns it unchanged. Call: <c>.WithRemoting(new RemoteOptions { ... }.WithTls(config))</c>.
    /// </summary>
    public static RemoteOptions WithTls(this RemoteOptions remote, Config config, Func<string, string?>? environment = null)
    {
        var settings = Load(config, environment);
        return settings is null ? remote : remote.WithTls(settings);
    }

    /// <summary>Mutual TLS with <paramref name="settings"/>: chain and hostname checks are replaced by <see cref="PeerValidator"/>.</summary>
    public static RemoteOptions WithTls(this RemoteOptions remote, RemoteTlsSettings settings)
    {
        var certificate = LoadCertificate(settings);
        var ca = settings.CaCertificatePath is null ? null : LoadCaCertificate(settings.CaCertificatePath);
        remote.EnableSsl = true;
        remote.Ssl = new SslOptions
        {
            X509Certificate = certificate,
            SuppressValidation = false,
            RequireMutualAuthentication = true,
            // nodes are reached by pod IPs and host names that certificates rarely list; the peer check below is the identity
            ValidateCertificateHostname = false,
            CustomValidator = PeerValidator(certificate, settings.TrustedSha256, ca),
        };
        return remote;
    }

    /// <summary>
    /// Seed addresses in the scheme <paramref name="remote"/> speaks: akka.tcp:// seeds become akka.ssl.tcp:// when TLS is on
    /// (and back when it is off), so one seed list serves both. Call: <c>SeedNodes = RemoteTls.SeedAddresses(seeds, remote)</c>.
    /// </summary>
    public static string[] SeedAddresses(IReadOnlyList<string> seeds, RemoteOptions remote)
    {
        var (from, to) = remote.EnableSsl == true ? (PlainScheme, TlsScheme) : (TlsScheme, PlainScheme);
        var result = new string[seeds.Count];
        for (var i = 0; i < result.Length; i++)
            result[i] = seeds[i].StartsWith(from + "://", StringComparison.Ordinal) ? to + seeds[i][from.Length..] : seeds[i];
        return result;
    }

    /// <summary>Reads the node's PKCS#12 file; the message says what is wrong, never the password.</summary>
    public static X509Certificate2 LoadCertificate(RemoteTlsSettings settings)
    {
        if (!File.Exists(settings.CertificatePath))
            throw new InvalidDataException($"TLS certificate file {settings.CertificatePath} does not exist");
        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadPkcs12FromFile(settings.CertificatePath, settings.Password);
        }
        catch (CryptographicException e)
        {
            throw new InvalidDataException($"TLS certificate file {settings.CertificatePath} cannot be read as PKCS#12 with the given password: {e.Message}", e);
        }
        if (!certificate.HasPrivateKey)
            throw new InvalidDataException($"TLS certificate file {settings.CertificatePath} holds no private key; a node needs its own key for mutual TLS");
        return certificate;
    }

    private static X509Certificate2 LoadCaCertificate(string path)
    {
        if (!File.Exists(path)) throw new InvalidDataException($"TLS CA certificate file {path} does not exist");
        try
        {
            return X509CertificateLoader.LoadCertificateFromFile(path);
        }
        catch (CryptographicException e)
        {
            throw new InvalidDataException($"TLS CA certificate file {path} is not a PEM or DER certificate: {e.Message}", e);
        }
    }

    /// <summary>SHA-256 of a certificate's DER bytes as lowercase hex: what <c>pipeline.tls.trusted-sha256</c> lists.</summary>
    public static string Sha256(X509Certificate2 certificate) => Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));

    /// <summary>
    /// Accepts a peer that presents a certificate within its validity dates that either chains to <paramref name="ca"/>
    /// (when given) or is one of the pinned ones: <paramref name="own"/> and <paramref name="trustedSha256"/>.
    /// </summary>
    public static CertificateValidationCallback PeerValidator(X509Certificate2 own, IReadOnlyList<string> trustedSha256, X509Certificate2? ca)
    {
        var pinned = new HashSet<string>(StringComparer.Ordinal) { Sha256(own) };
        foreach (var sha in trustedSha256) pinned.Add(NormalizeSha256(sha));
        return (peerCertificate, _, peer, _, log) =>
        {
            if (peerCertificate is null)
            {
                log.Warning("TLS: refused {0}: it presented no certificate", peer);
                return false;
            }
            var now = DateTime.Now;
            if (now < peerCertificate.NotBefore || now > peerCertificate.NotAfter)
            {
                log.Warning("TLS: refused {0}: its certificate {1} is valid only from {2:u} to {3:u}", peer, peerCertificate.Subject,
                    peerCertificate.NotBefore, peerCertificate.NotAfter);
                return false;
            }
            if (ca is not null)
            {
                if (ChainsTo(peerCertificate, ca)) return true;
                log.Warning("TLS: refused {0}: its certificate {1} is not issued by the cluster CA {2}", peer, peerCertificate.Subject, ca.Subject);
                return false;
            }
            var sha = Sha256(peerCertificate);
            if (pinned.Contains(sha)) return true;
            log.Warning("TLS: refused {0}: its certificate {1} (sha256 {2}) is not the cluster's", peer, peerCertificate.Subject, sha);
            return false;
        };
    }

    private static bool ChainsTo(X509Certificate2 certificate, X509Certificate2 ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        // a private cluster CA publishes no revocation lists
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }

    private static string ReadPasswordFile(string path)
    {
        if (!File.Exists(path)) throw new InvalidDataException($"TLS certificate password file {path} does not exist");
        var password = File.ReadAllText(path).Trim();
        if (password.Length == 0) throw new InvalidDataException($"TLS certificate password file {path} is empty");
        return password;
    }

    private static string NormalizeSha256(string text)
    {
        var hex = text.Replace(":", "", StringComparison.Ordinal).Trim().ToLowerInvariant();
        if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit))
            throw new InvalidDataException($"'{text}' is not a SHA-256 certificate fingerprint (64 hex digits)");
        return hex;
    }
}
