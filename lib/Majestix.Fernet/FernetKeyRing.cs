using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

namespace Majestix.Fernet;

/// <summary>
/// Encrypts and decrypts Fernet tokens with one or more keys, like Python's <c>MultiFernet</c>: tokens are always
/// created with the first (primary) key, and decryption accepts a token signed by any configured key, so keys can be
/// rotated by putting the new key first and keeping the old ones until their tokens have expired or been rotated.
/// </summary>
/// <remarks>Instances are immutable and safe to share between threads; register one as a singleton.</remarks>
public sealed class FernetKeyRing
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly FernetKey[] _keys;
    private readonly TimeProvider _timeProvider;

    /// <summary>Creates a key ring holding a single key.</summary>
    /// <param name="key">The key used for both encryption and decryption.</param>
    /// <param name="timeProvider">The clock for token timestamps and TTL checks; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    public FernetKeyRing(FernetKey key, TimeProvider? timeProvider = null)
        : this([key], timeProvider)
    {
    }

    /// <summary>Creates a key ring from keys in priority order.</summary>
    /// <param name="keys">At least one key; the first encrypts, all of them decrypt.</param>
    /// <param name="timeProvider">The clock for token timestamps and TTL checks; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="keys"/> is empty or contains <see langword="null"/>.</exception>
    public FernetKeyRing(IEnumerable<FernetKey> keys, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(keys);
        _keys = [.. keys];
        if (_keys.Length == 0)
        {
            throw new ArgumentException("At least one Fernet key is required.", nameof(keys));
        }

        if (Array.IndexOf(_keys, null) >= 0)
        {
            throw new ArgumentException("Fernet keys cannot be null.", nameof(keys));
        }

        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The keys in priority order; the first one encrypts.</summary>
    public IReadOnlyList<FernetKey> Keys => _keys;

    /// <summary>The key new tokens are created with.</summary>
    public FernetKey PrimaryKey => _keys[0];

    /// <summary>
    /// Parses a comma-separated list of URL-safe base64 keys, primary first: the <c>FERNET_KEYS</c> format shared
    /// with the Python services. Whitespace around keys and empty entries are ignored.
    /// </summary>
    /// <param name="keys">The key list, for example <c>"newKey,oldKey"</c>.</param>
    /// <param name="timeProvider">The clock for token timestamps and TTL checks; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <returns>The key ring.</returns>
    /// <exception cref="FormatException">The list holds no keys or an entry is not a valid key.</exception>
    public static FernetKeyRing Parse(string keys, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var parsed = new List<FernetKey>();
        var position = 0;
        foreach (var range in keys.AsSpan().Split(','))
        {
            position++;
            var entry = keys.AsSpan()[range].Trim();
            if (entry.IsEmpty)
            {
                continue;
            }

            // Report the position only: the entry itself is secret.
            parsed.Add(FernetKey.TryParse(entry, out var key)
                ? key
                : throw new FormatException($"Entry {position} of the Fernet key list is not 32 URL-safe base64-encoded bytes."));
        }

        return parsed.Count == 0
            ? throw new FormatException("The Fernet key list is empty.")
            : new FernetKeyRing(parsed, timeProvider);
    }

    /// <summary>Encrypts <paramref name="plaintext"/> with the primary key, stamped with the current time.</summary>
    /// <param name="plaintext">The data to protect.</param>
    /// <returns>The token, padded URL-safe base64.</returns>
    public string Encrypt(ReadOnlySpan<byte> plaintext)
    {
        Span<byte> iv = stackalloc byte[FernetToken.IvSize];
        RandomNumberGenerator.Fill(iv);
        return FernetToken.Encrypt(PrimaryKey, plaintext, Now(), iv);
    }

    /// <summary>Encrypts the UTF-8 bytes of <paramref name="plaintext"/> with the primary key.</summary>
    /// <param name="plaintext">The text to protect.</param>
    /// <returns>The token, padded URL-safe base64.</returns>
    /// <exception cref="EncoderFallbackException"><paramref name="plaintext"/> contains an unpaired surrogate.</exception>
    public string EncryptUtf8(ReadOnlySpan<char> plaintext)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(StrictUtf8.GetMaxByteCount(plaintext.Length));
        var length = 0;
        try
        {
            length = StrictUtf8.GetBytes(plaintext, buffer);
            return Encrypt(buffer.AsSpan(0, length));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(buffer.AsSpan(0, length));
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Test vectors need a fixed IV; production code must always use a random one.</summary>
    internal string Encrypt(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> iv)
    {
        if (iv.Length != FernetToken.IvSize)
        {
            throw new ArgumentException($"The IV must be {FernetToken.IvSize} bytes.", nameof(iv));
        }

        return FernetToken.Encrypt(PrimaryKey, plaintext, Now(), iv);
    }

    /// <summary>Decrypts a token created with any key in the ring.</summary>
    /// <param name="token">The token.</param>
    /// <param name="timeToLive">
    /// When set, tokens older than this are rejected, as are tokens stamped more than 60 seconds in the future.
    /// Compared in whole seconds, like Python's <c>cryptography</c>.
    /// </param>
    /// <returns>The plaintext.</returns>
    /// <exception cref="FernetException">The token is malformed, tampered with, from an unknown key, or expired.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is negative.</exception>
    public byte[] Decrypt(ReadOnlySpan<char> token, TimeSpan? timeToLive = null) =>
        TryDecrypt(token, timeToLive, out var plaintext) ? plaintext : throw new FernetException();

    /// <summary>Decrypts a token whose plaintext is UTF-8 text.</summary>
    /// <param name="token">The token.</param>
    /// <param name="timeToLive">When set, the maximum token age; see <see cref="Decrypt(ReadOnlySpan{char}, TimeSpan?)"/>.</param>
    /// <returns>The decoded text.</returns>
    /// <exception cref="FernetException">The token is malformed, tampered with, from an unknown key, or expired.</exception>
    /// <exception cref="DecoderFallbackException">The token is genuine but its plaintext is not valid UTF-8.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is negative.</exception>
    public string DecryptUtf8(ReadOnlySpan<char> token, TimeSpan? timeToLive = null)
    {
        var buffer = DecryptToPool(token, timeToLive, out var length, out _) ?? throw new FernetException();
        try
        {
            return StrictUtf8.GetString(buffer, 0, length);
        }
        finally
        {
            ReturnCleared(buffer);
        }
    }

    /// <summary>Tries to decrypt a token created with any key in the ring, without throwing for invalid tokens.</summary>
    /// <param name="token">The token.</param>
    /// <param name="timeToLive">When set, the maximum token age; see <see cref="Decrypt(ReadOnlySpan{char}, TimeSpan?)"/>.</param>
    /// <param name="plaintext">The plaintext when the token was accepted.</param>
    /// <returns><see langword="true"/> if the token was accepted.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is negative.</exception>
    public bool TryDecrypt(ReadOnlySpan<char> token, TimeSpan? timeToLive, [NotNullWhen(true)] out byte[]? plaintext)
    {
        var buffer = DecryptToPool(token, timeToLive, out var length, out _);
        if (buffer is null)
        {
            plaintext = null;
            return false;
        }

        plaintext = buffer.AsSpan(0, length).ToArray();
        ReturnCleared(buffer);
        return true;
    }

    /// <summary>
    /// Reads the creation time of a token after verifying its signature against the ring (no TTL check), like
    /// Python's <c>extract_timestamp</c>.
    /// </summary>
    /// <param name="token">The token.</param>
    /// <returns>The time the token was created, to the second.</returns>
    /// <exception cref="FernetException">The token is malformed, tampered with, or from an unknown key.</exception>
    public DateTimeOffset ExtractTimestamp(ReadOnlySpan<char> token)
    {
        if (!FernetToken.TryDecode(token, out var data, out var length))
        {
            throw new FernetException();
        }

        try
        {
            var span = data.AsSpan(0, length);
            if (FindSigningKey(span) is null)
            {
                throw new FernetException();
            }

            var timestamp = FernetToken.ReadTimestamp(span);
            return timestamp <= (ulong)DateTimeOffset.MaxValue.ToUnixTimeSeconds()
                ? DateTimeOffset.FromUnixTimeSeconds((long)timestamp)
                : throw new FernetException();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(data);
        }
    }

    /// <summary>
    /// Re-encrypts a token under the primary key, keeping its original timestamp so TTLs still count from the
    /// first encryption (Python's <c>MultiFernet.rotate</c>). No TTL is applied.
    /// </summary>
    /// <param name="token">A token created with any key in the ring.</param>
    /// <returns>An equivalent token created with the primary key and a fresh IV.</returns>
    /// <exception cref="FernetException">The token is malformed, tampered with, or from an unknown key.</exception>
    public string Rotate(ReadOnlySpan<char> token)
    {
        var buffer = DecryptToPool(token, null, out var length, out var timestamp) ?? throw new FernetException();
        try
        {
            Span<byte> iv = stackalloc byte[FernetToken.IvSize];
            RandomNumberGenerator.Fill(iv);
            return FernetToken.Encrypt(PrimaryKey, buffer.AsSpan(0, length), timestamp, iv);
        }
        finally
        {
            ReturnCleared(buffer);
        }
    }

    /// <summary>Returns the plaintext in a pooled buffer (caller clears and returns it), or null for any invalid token.</summary>
    private byte[]? DecryptToPool(ReadOnlySpan<char> token, TimeSpan? timeToLive, out int length, out ulong timestamp)
    {
        length = 0;
        timestamp = 0;
        long? ttlSeconds = null;
        if (timeToLive is { } ttl)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(ttl, TimeSpan.Zero, nameof(timeToLive));
            ttlSeconds = ttl.Ticks / TimeSpan.TicksPerSecond;
        }

        if (!FernetToken.TryDecode(token, out var data, out var dataLength))
        {
            return null;
        }

        byte[]? plaintext = null;
        try
        {
            var span = data.AsSpan(0, dataLength);
            timestamp = FernetToken.ReadTimestamp(span);
            if (ttlSeconds is { } seconds && !FernetToken.IsWithinTimeToLive(timestamp, seconds, (long)Now()))
            {
                return null;
            }

            // The signature is checked before any decryption so padding errors cannot act as an oracle.
            var key = FindSigningKey(span);
            if (key is null)
            {
                return null;
            }

            plaintext = ArrayPool<byte>.Shared.Rent(dataLength - FernetToken.HeaderSize - FernetToken.HmacSize);
            if (FernetToken.TryDecrypt(key, span, plaintext, out length))
            {
                var result = plaintext;
                plaintext = null;
                return result;
            }

            length = 0;
            return null;
        }
        catch (CryptographicException)
        {
            // Bad PKCS7 padding under a valid signature: only possible for a token crafted with the real key.
            length = 0;
            return null;
        }
        finally
        {
            if (plaintext is not null)
            {
                ReturnCleared(plaintext);
            }

            ArrayPool<byte>.Shared.Return(data);
        }
    }

    private FernetKey? FindSigningKey(ReadOnlySpan<byte> data)
    {
        foreach (var key in _keys)
        {
            if (FernetToken.HasValidSignature(key, data))
            {
                return key;
            }
        }

        return null;
    }

    private ulong Now()
    {
        // Fernet timestamps are unsigned; a clock before 1970 is treated as the epoch.
        var seconds = _timeProvider.GetUtcNow().ToUnixTimeSeconds();
        return seconds < 0 ? 0 : (ulong)seconds;
    }

    private static void ReturnCleared(byte[] buffer) => ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
}
