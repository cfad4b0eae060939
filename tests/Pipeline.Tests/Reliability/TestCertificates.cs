using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Pipeline.Tests.Reliability;

/// <summary>Certificates made in the test (no key ever lives in the repository), written as PKCS#12 files to a temp folder.</summary>
internal static class TestCertificates
{
    /// <summary>A self-signed ECDSA P-256 certificate for TLS clients and servers, valid for a day either side of now.</summary>
    public static X509Certificate2 SelfSigned(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false)); // server and client authentication
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, 0, critical: true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    /// <summary>A certificate signed by <paramref name="ca"/> (which must hold its private key).</summary>
    public static X509Certificate2 IssuedBy(X509Certificate2 ca, string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        var serial = RandomNumberGenerator.GetBytes(12);
        using var issued = request.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(12), serial);
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>Writes <paramref name="certificate"/> with its key as a password-protected .pfx; returns the path.</summary>
    public static string WritePfx(X509Certificate2 certificate, string folder, string name, string password)
    {
        var path = Path.Combine(folder, name + ".pfx");
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pfx, password));
        return path;
    }

    /// <summary>Writes the public part only, PEM, as a CA file is mounted.</summary>
    public static string WritePem(X509Certificate2 certificate, string folder, string name)
    {
        var path = Path.Combine(folder, name + ".crt");
        File.WriteAllText(path, certificate.ExportCertificatePem());
        return path;
    }
}
