using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Majestix.Fernet;

/// <summary>The Fernet wire format: 0x80 | timestamp (8, big-endian) | IV (16) | ciphertext | HMAC-SHA256 (32).</summary>
internal static class FernetToken
{
    internal const byte Version = 0x80;
    internal const int TimestampOffset = 1;
    internal const int IvOffset = TimestampOffset + sizeof(ulong);
    internal const int IvSize = 16;
    internal const int HeaderSize = IvOffset + IvSize;
    internal const int BlockSize = 16;
    internal const int HmacSize = 32;
    internal const int MinimumLength = HeaderSize + BlockSize + HmacSize;
    internal const long MaxClockSkewSeconds = 60;

    // Largest string the runtime allows; bounds the plaintext a single token can carry.
    private const long MaxStringLength = 0x3FFFFFDF;

    internal static int GetTokenLength(int plaintextLength)
    {
        var bytes = HeaderSize + ((long)(plaintextLength / BlockSize) + 1) * BlockSize + HmacSize;
        if (bytes > Array.MaxLength || (bytes + 2) / 3 * 4 > MaxStringLength)
        {
            throw new ArgumentOutOfRangeException(nameof(plaintextLength), "The plaintext is too large for a single Fernet token.");
        }

        return (int)bytes;
    }

    internal static string Encrypt(FernetKey key, ReadOnlySpan<byte> plaintext, ulong timestamp, ReadOnlySpan<byte> iv)
    {
        var length = GetTokenLength(plaintext.Length);
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var token = buffer.AsSpan(0, length);
            token[0] = Version;
            BinaryPrimitives.WriteUInt64BigEndian(token.Slice(TimestampOffset, sizeof(ulong)), timestamp);
            iv.CopyTo(token.Slice(IvOffset, IvSize));

            using (var aes = Aes.Create())
            {
                aes.Key = key.EncryptionKey;
                aes.EncryptCbc(plaintext, iv, token[HeaderSize..^HmacSize], PaddingMode.PKCS7);
            }

            HMACSHA256.HashData(key.SigningKey, token[..^HmacSize], token[^HmacSize..]);
            return EncodeBase64Url(token);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Padded URL-safe base64; Python's <c>urlsafe_b64decode</c> rejects unpadded input, so we always pad.</summary>
    internal static string EncodeBase64Url(ReadOnlySpan<byte> data) =>
        string.Create((data.Length + 2) / 3 * 4, data, static (chars, bytes) =>
        {
            Convert.TryToBase64Chars(bytes, chars, out _);
            chars.Replace('+', '-');
            chars.Replace('/', '_');
        });

    /// <summary>
    /// Decodes the token into a pooled buffer and checks everything that needs no key: base64, version and lengths.
    /// </summary>
    internal static bool TryDecode(ReadOnlySpan<char> token, [NotNullWhen(true)] out byte[]? buffer, out int length)
    {
        buffer = null;
        length = 0;
        // Padding is required because Python's urlsafe_b64decode requires it; accepting more would only add token spellings.
        if (token.IsEmpty || token.Length % 4 != 0)
        {
            return false;
        }

        buffer = ArrayPool<byte>.Shared.Rent(Base64Url.GetMaxDecodedLength(token.Length));
        var status = Base64Url.DecodeFromChars(token, buffer, out _, out length);
        if (status != OperationStatus.Done
            || length < MinimumLength
            || (length - HeaderSize - HmacSize) % BlockSize != 0
            || buffer[0] != Version)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = null;
            length = 0;
            return false;
        }

        return true;
    }

    internal static ulong ReadTimestamp(ReadOnlySpan<byte> data) =>
        BinaryPrimitives.ReadUInt64BigEndian(data.Slice(TimestampOffset, sizeof(ulong)));

    /// <summary>Same rule as Python's <c>cryptography</c>: with a TTL, reject expired tokens and those from too far ahead.</summary>
    internal static bool IsWithinTimeToLive(ulong timestamp, long timeToLiveSeconds, long now) =>
        (Int128)timestamp + timeToLiveSeconds >= now
        && (Int128)now + MaxClockSkewSeconds >= timestamp;

    internal static bool HasValidSignature(FernetKey key, ReadOnlySpan<byte> data)
    {
        Span<byte> expected = stackalloc byte[HmacSize];
        HMACSHA256.HashData(key.SigningKey, data[..^HmacSize], expected);
        return CryptographicOperations.FixedTimeEquals(expected, data[^HmacSize..]);
    }

    /// <summary>Decrypts a signature-verified token into <paramref name="destination"/> (at least the ciphertext length).</summary>
    internal static bool TryDecrypt(FernetKey key, ReadOnlySpan<byte> data, Span<byte> destination, out int written)
    {
        using var aes = Aes.Create();
        aes.Key = key.EncryptionKey;
        return aes.TryDecryptCbc(data[HeaderSize..^HmacSize], data.Slice(IvOffset, IvSize), destination, out written, PaddingMode.PKCS7);
    }
}
