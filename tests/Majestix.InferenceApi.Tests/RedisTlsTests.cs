using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Majestix.InferenceApi.Redis;

namespace Majestix.InferenceApi.Tests;

public sealed class RedisTlsTests
{
    [Fact]
    public void ServerCertificateMustChainToTheConfiguredAuthority()
    {
        using var authority = SelfSigned("CN=memorystore-ca");
        using var impostor = SelfSigned("CN=someone-else-ca");
        using var server = IssuedBy(authority, "CN=10.124.186.203");
        using var forged = IssuedBy(impostor, "CN=10.124.186.203");

        RedisSetup.IsIssuedBy(authority, server, SslPolicyErrors.RemoteCertificateChainErrors).ShouldBeTrue();
        RedisSetup.IsIssuedBy(authority, forged, SslPolicyErrors.RemoteCertificateChainErrors).ShouldBeFalse();
        RedisSetup.IsIssuedBy(authority, null, SslPolicyErrors.RemoteCertificateNotAvailable).ShouldBeFalse();
    }

    [Fact]
    public void AuthorityFromTheEnvironmentTurnsOnTls()
    {
        using var authority = SelfSigned("CN=memorystore-ca");
        var options = new RedisOptions { Configuration = "10.0.0.3:6378,password=x", TlsCaCertificate = authority.ExportCertificatePem() };

        RedisSetup.TryParse(options, out var parsed).ShouldBeTrue();

        parsed!.Ssl.ShouldBeTrue();
        parsed.AbortOnConnectFail.ShouldBeFalse();
        parsed.AsyncTimeout.ShouldBe(500);
    }

    [Theory]
    [InlineData("redis://:secret@10.0.0.3:6379/2", "10.0.0.3:6379", false, "secret", 2)]
    [InlineData("rediss://default:secret@redis.internal:6378", "redis.internal:6378", true, "secret", null)]
    public void RedisUrlsAreUnderstood(string url, string endpoint, bool ssl, string password, int? database)
    {
        RedisSetup.TryParse(new RedisOptions { Configuration = url }, out var parsed).ShouldBeTrue();

        var actual = parsed!.EndPoints.Single() switch
        {
            System.Net.DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
            var other => other.ToString(),
        };
        actual.ShouldBe(endpoint);
        parsed.Ssl.ShouldBe(ssl);
        parsed.Password.ShouldBe(password);
        parsed.DefaultDatabase.ShouldBe(database);
    }

    private static X509Certificate2 SelfSigned(string subject)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    private static X509Certificate2 IssuedBy(X509Certificate2 authority, string subject)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.Create(authority, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(10), [1, 2, 3, 4]);
        return certificate.CopyWithPrivateKey(key);
    }
}
