using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Majestix.Fernet.Tests;

/// <summary>Builds raw tokens field by field, signed with a real key, to reach checks that come after the HMAC.</summary>
internal static class TokenForge
{
    public static byte[] Decode(string token) => Convert.FromBase64String(token.Replace('-', '+').Replace('_', '/'));

    public static string Encode(ReadOnlySpan<byte> data) => Convert.ToBase64String(data).Replace('+', '-').Replace('/', '_');

    /// <summary>Encrypts already-padded blocks with no padding mode, so the caller controls the final padding bytes.</summary>
    public static string Build(FernetKey key, byte version, ulong timestamp, ReadOnlySpan<byte> paddedPlaintext)
    {
        var iv = RandomNumberGenerator.GetBytes(16);
        using var aes = Aes.Create();
        aes.Key = key.EncryptionKey;
        var ciphertext = aes.EncryptCbc(paddedPlaintext, iv, PaddingMode.None);

        var body = new byte[1 + 8 + 16 + ciphertext.Length];
        body[0] = version;
        BinaryPrimitives.WriteUInt64BigEndian(body.AsSpan(1, 8), timestamp);
        iv.CopyTo(body, 9);
        ciphertext.CopyTo(body, 25);
        return Encode([.. body, .. HMACSHA256.HashData(key.SigningKey, body)]);
    }

    /// <summary>Re-signs decoded token bytes (everything but the trailing HMAC) with <paramref name="key"/>.</summary>
    public static string Resign(FernetKey key, byte[] data)
    {
        HMACSHA256.HashData(key.SigningKey, data.AsSpan(0, data.Length - 32), data.AsSpan(data.Length - 32));
        return Encode(data);
    }
}
