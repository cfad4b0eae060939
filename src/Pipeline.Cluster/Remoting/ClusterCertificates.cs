using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Pipeline.Cluster.Remoting;

/// <summary>The files <see cref="ClusterCertificates.Create"/> writes, by the names the docs and manifests use.</summary>
public sealed record ClusterCertificateFiles(string Folder)
{
    /// <summary>The cluster CA's public certificate (PEM): PIPELINE_TLS_CA on every node.</summary>
    public string CaCertificate => Path.Combine(Folder, "ca.crt");
    /// <summary>The CA's private key (PKCS#12), kept to issue the next node certificate; never mounted on a node.</summary>
    public string CaKey => Path.Combine(Folder, "ca-key.pfx");
    public string CaPassword => Path.Combine(Folder, "ca-password");
    /// <summary>The node certificate and key (PKCS#12): PIPELINE_TLS_CERT on every node.</summary>
    public string NodeCertificate => Path.Combine(Folder, "node.pfx");
    /// <summary>The node file's password: PIPELINE_TLS_CERT_PASSWORD_FILE.</summary>
    public string NodePassword => Path.Combine(Folder, "password");
}

/// <summary>
/// A cluster CA and a node certificate signed by it, made with .NET's own System.Security.Cryptography (ECDSA P-256,
/// SHA-256): what <c>pipeline tls init</c> writes. Every node gets node.pfx, its password file and ca.crt; a peer is
/// admitted when its certificate chains to the CA (RemoteTls).
/// </summary>
public static class ClusterCertificates
{
    private static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");

    /// <summary>
    /// Writes a new CA (or uses the one in <paramref name="existingCa"/>) and a node certificate valid for
    /// <paramref name="days"/> into <paramref name="folder"/>, which must not hold any of the files yet.
    /// </summary>
    /// <exception cref="InvalidDataException">a file would be overwritten, or the existing CA cannot be read.</exception>
    public static ClusterCertificateFiles Create(string folder, int days, ClusterCertificateFiles? existingCa = null, DateTimeOffset? now = null)
    {
        if (days < 1) throw new InvalidDataException($"--days must be at least 1, not {days}");
        var files = new ClusterCertificateFiles(Path.GetFullPath(folder));
        Directory.CreateDirectory(files.Folder);
        string[] toWrite = existingCa is null
            ? [files.CaCertificate, files.CaKey, files.CaPassword, files.NodeCertificate, files.NodePassword]
            : [files.NodeCertificate, files.NodePassword];
        foreach (var path in toWrite)
            if (File.Exists(path)) throw new InvalidDataException($"{path} already exists: keys are never overwritten; choose another --out or remove it yourself");

        var start = (now ?? DateTimeOffset.UtcNow).AddMinutes(-5); // a little clock skew between machines
        X509Certificate2 ca;
        if (existingCa is null)
        {
            ca = CreateCa(start, Math.Max(days, 3650));
            var caPassword = NewPassword();
            WriteSecret(files.CaPassword, System.Text.Encoding.ASCII.GetBytes(caPassword + "\n"));
            WriteSecret(files.CaKey, ca.Export(X509ContentType.Pfx, caPassword));
            File.WriteAllText(files.CaCertificate, ca.ExportCertificatePem() + "\n");
        }
        else
        {
            ca = LoadCa(existingCa);
            if (existingCa.Folder != files.Folder) File.Copy(existingCa.CaCertificate, files.CaCertificate, overwrite: true);
        }
        using (ca)
        {
            var notAfter = start.AddDays(days);
            if (notAfter > ca.NotAfter) notAfter = new DateTimeOffset(ca.NotAfter.ToUniversalTime(), TimeSpan.Zero);
            using var node = IssueNode(ca, start, notAfter);
            var password = NewPassword();
            WriteSecret(files.NodePassword, System.Text.Encoding.ASCII.GetBytes(password + "\n"));
            WriteSecret(files.NodeCertificate, node.Export(X509ContentType.Pfx, password));
        }
        return files;
    }

    private static X509Certificate2 CreateCa(DateTimeOffset start, int days)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=pipeline-cluster-ca-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        return request.CreateSelfSigned(start, start.AddDays(days));
    }

    private static X509Certificate2 IssueNode(X509Certificate2 ca, DateTimeOffset start, DateTimeOffset notAfter)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=pipeline-node", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ServerAuthentication, ClientAuthentication], critical: false));
        // nodes are reached by pod IPs and host names no certificate can list in advance: RemoteTls checks the chain, not the name
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("pipeline-node");
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        using var issued = request.Create(ca, start, notAfter, RandomNumberGenerator.GetBytes(16));
        return issued.CopyWithPrivateKey(key);
    }

    private static X509Certificate2 LoadCa(ClusterCertificateFiles files)
    {
        if (!File.Exists(files.CaKey) || !File.Exists(files.CaPassword))
            throw new InvalidDataException($"{files.Folder} holds no cluster CA key (ca-key.pfx and ca-password from `pipeline tls init`)");
        try
        {
            var ca = X509CertificateLoader.LoadPkcs12FromFile(files.CaKey, File.ReadAllText(files.CaPassword).Trim(), X509KeyStorageFlags.Exportable);
            if (!ca.HasPrivateKey) throw new InvalidDataException($"{files.CaKey} holds no private key");
            return ca;
        }
        catch (CryptographicException e)
        {
            throw new InvalidDataException($"{files.CaKey} cannot be read with the password in {files.CaPassword}: {e.Message}", e);
        }
    }

    private static string NewPassword() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    /// <summary>Created readable by the owner only (0600 on Unix) before any byte is written.</summary>
    private static void WriteSecret(string path, byte[] content)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var stream = new FileStream(path, options);
        stream.Write(content);
        stream.Flush(flushToDisk: true);
    }
}
