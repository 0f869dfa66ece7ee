using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Majestix.Fernet;

/// <summary>
/// A Fernet key: 32 bytes, the first 16 used for HMAC-SHA256 signing and the last 16 for AES-128-CBC encryption.
/// Its text form is URL-safe base64 (44 characters with padding), the same as Python's <c>Fernet.generate_key()</c>.
/// </summary>
/// <remarks><see cref="object.ToString"/> is not overridden, so the key material never ends up in logs by accident.</remarks>
public sealed class FernetKey
{
    /// <summary>The size of a Fernet key in bytes.</summary>
    public const int KeySize = 32;

    private const int HalfKeySize = KeySize / 2;

    private FernetKey(ReadOnlySpan<byte> key)
    {
        SigningKey = key[..HalfKeySize].ToArray();
        EncryptionKey = key[HalfKeySize..].ToArray();
    }

    internal byte[] SigningKey { get; }

    internal byte[] EncryptionKey { get; }

    /// <summary>Creates a new random key from the operating system's cryptographic random number generator.</summary>
    /// <returns>The new key.</returns>
    public static FernetKey Generate()
    {
        Span<byte> key = stackalloc byte[KeySize];
        RandomNumberGenerator.Fill(key);
        var result = new FernetKey(key);
        CryptographicOperations.ZeroMemory(key);
        return result;
    }

    /// <summary>Creates a key from its 32 raw bytes.</summary>
    /// <param name="key">Exactly 32 bytes; the span is copied.</param>
    /// <returns>The key.</returns>
    /// <exception cref="ArgumentException"><paramref name="key"/> is not 32 bytes long.</exception>
    public static FernetKey FromBytes(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySize)
        {
            throw new ArgumentException($"A Fernet key must be {KeySize} bytes.", nameof(key));
        }

        return new FernetKey(key);
    }

    /// <summary>Parses a key from URL-safe base64 (padding optional, surrounding whitespace ignored).</summary>
    /// <param name="key">The encoded key.</param>
    /// <returns>The key.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is <see langword="null"/>.</exception>
    /// <exception cref="FormatException"><paramref name="key"/> is not URL-safe base64 of exactly 32 bytes.</exception>
    public static FernetKey Parse(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return TryParse(key, out var result)
            ? result
            : throw new FormatException("A Fernet key must be 32 URL-safe base64-encoded bytes.");
    }

    /// <summary>Tries to parse a key from URL-safe base64 (padding optional, surrounding whitespace ignored).</summary>
    /// <param name="key">The encoded key.</param>
    /// <param name="result">The key when parsing succeeded.</param>
    /// <returns><see langword="true"/> if <paramref name="key"/> encodes exactly 32 bytes.</returns>
    public static bool TryParse(ReadOnlySpan<char> key, [NotNullWhen(true)] out FernetKey? result)
    {
        result = null;
        key = key.Trim();
        // 44 characters with padding, 43 without; anything longer cannot decode to 32 bytes.
        if (key.Length is < 43 or > 44)
        {
            return false;
        }

        Span<byte> decoded = stackalloc byte[Base64Url.GetMaxDecodedLength(44)];
        var status = Base64Url.DecodeFromChars(key, decoded, out _, out var written);
        if (status != OperationStatus.Done || written != KeySize)
        {
            CryptographicOperations.ZeroMemory(decoded);
            return false;
        }

        result = new FernetKey(decoded[..KeySize]);
        CryptographicOperations.ZeroMemory(decoded);
        return true;
    }

    /// <summary>
    /// Exports the key as padded URL-safe base64, the format Python's <c>cryptography</c> and <c>FERNET_KEYS</c> use.
    /// The result is a secret: never log it.
    /// </summary>
    /// <returns>The 44-character encoded key.</returns>
    public string ToBase64UrlString()
    {
        Span<byte> key = stackalloc byte[KeySize];
        SigningKey.CopyTo(key);
        EncryptionKey.CopyTo(key[HalfKeySize..]);
        var encoded = FernetToken.EncodeBase64Url(key);
        CryptographicOperations.ZeroMemory(key);
        return encoded;
    }
}
