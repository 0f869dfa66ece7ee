using System.Security.Cryptography;

namespace Majestix.Fernet.Tests;

public class FernetAdversarialTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private static readonly string GenericMessage = new FernetException().Message;

    private readonly FernetKey _key = FernetKey.Generate();
    private readonly FixedTimeProvider _clock = new(Start);

    private FernetKeyRing Ring => new(_key, _clock);

    [Fact]
    public void FlippingAnyBitOfAnyByteIsRejected()
    {
        var token = Ring.EncryptUtf8("the quick brown fox jumps over the lazy dog");
        var data = TokenForge.Decode(token);

        for (var index = 0; index < data.Length; index++)
        {
            for (var bit = 0; bit < 8; bit++)
            {
                var tampered = (byte[])data.Clone();
                tampered[index] ^= (byte)(1 << bit);

                AssertRejected(TokenForge.Encode(tampered));
            }
        }
    }

    [Fact]
    public void EveryTruncationIsRejected()
    {
        var token = Ring.EncryptUtf8("truncate me, please");
        var data = TokenForge.Decode(token);

        for (var length = 0; length < data.Length; length++)
        {
            AssertRejected(TokenForge.Encode(data.AsSpan(0, length)));
        }

        for (var length = 0; length < token.Length; length++)
        {
            AssertRejected(token[..length]);
        }
    }

    [Fact]
    public void AppendedBytesAreRejected()
    {
        var data = TokenForge.Decode(Ring.EncryptUtf8("x"));

        AssertRejected(TokenForge.Encode([.. data, 0]));
        AssertRejected(TokenForge.Encode([.. data, .. new byte[16]]));
    }

    [Fact]
    public void WrongKeyIsRejected()
    {
        var token = Ring.EncryptUtf8("secret");

        AssertRejected(token, new FernetKeyRing(FernetKey.Generate(), _clock));
        AssertRejected(token, new FernetKeyRing([FernetKey.Generate(), FernetKey.Generate()], _clock));
    }

    [Fact]
    public void KeyWithMatchingSigningHalfButWrongEncryptionHalfNeverYieldsThePlaintext()
    {
        var raw = new byte[32];
        _key.SigningKey.CopyTo(raw, 0);
        RandomNumberGenerator.Fill(raw.AsSpan(16));
        var token = Ring.Encrypt(new byte[64]);

        // The signature matches, so only the padding can catch the wrong encryption key (it usually does).
        var ring = new FernetKeyRing(FernetKey.FromBytes(raw), _clock);
        if (ring.TryDecrypt(token, null, out var plaintext))
        {
            plaintext.ShouldNotBe(new byte[64]);
        }
    }

    [Fact]
    public void ExpiredTokenIsRejected()
    {
        var token = Ring.EncryptUtf8("x");
        _clock.Now = Start.AddMinutes(10);

        AssertRejected(token, ttl: TimeSpan.FromMinutes(5));
        Ring.DecryptUtf8(token, TimeSpan.FromMinutes(10)).ShouldBe("x");
    }

    [Fact]
    public void FutureTimestampBeyondSkewIsRejected()
    {
        var token = TokenForge.Build(_key, 0x80, (ulong)Start.AddSeconds(61).ToUnixTimeSeconds(), Padded([1, 2, 3]));

        AssertRejected(token, ttl: TimeSpan.FromDays(1));
        Ring.Decrypt(token).ShouldBe([1, 2, 3]);
    }

    [Fact]
    public void MaximumTimestampDoesNotOverflowTheTtlCheck()
    {
        var token = TokenForge.Build(_key, 0x80, ulong.MaxValue, Padded([1]));

        AssertRejected(token, ttl: TimeSpan.MaxValue);
        Ring.Decrypt(token).ShouldBe([1]);
        Should.Throw<FernetException>(() => Ring.ExtractTimestamp(token));
    }

    [Fact]
    public void ZeroTimestampIsExpiredUnderAnyRealisticTtl()
    {
        var token = TokenForge.Build(_key, 0x80, 0, Padded([1]));

        AssertRejected(token, ttl: TimeSpan.FromDays(365 * 50));
        Ring.Decrypt(token, TimeSpan.FromDays(365 * 60)).ShouldBe([1]);
    }

    [Theory]
    [InlineData(0x00)]
    [InlineData(0x7F)]
    [InlineData(0x81)]
    [InlineData(0xFF)]
    public void WrongVersionByteIsRejectedEvenWhenSignedWithTheRightKey(byte version)
    {
        var token = TokenForge.Build(_key, version, (ulong)Start.ToUnixTimeSeconds(), Padded([1, 2, 3]));

        AssertRejected(token);
    }

    [Theory]
    [InlineData(new byte[] { 0 })]
    [InlineData(new byte[] { 17 })]
    [InlineData(new byte[] { 255 })]
    [InlineData(new byte[] { 2, 3 })]
    [InlineData(new byte[] { 4, 4, 5, 4 })]
    public void BadPaddingUnderAValidSignatureIsRejected(byte[] tail)
    {
        var block = new byte[16];
        tail.CopyTo(block, 16 - tail.Length);

        var token = TokenForge.Build(_key, 0x80, (ulong)Start.ToUnixTimeSeconds(), block);

        AssertRejected(token);
    }

    [Fact]
    public void CorrectlyForgedTokenIsAcceptedSoTheForgeIsTrustworthy()
    {
        var token = TokenForge.Build(_key, 0x80, (ulong)Start.ToUnixTimeSeconds(), Padded([1, 2, 3]));

        Ring.Decrypt(token, TimeSpan.FromSeconds(1)).ShouldBe([1, 2, 3]);
    }

    [Fact]
    public void CiphertextThatIsNotWholeBlocksIsRejectedEvenWhenSigned()
    {
        var data = TokenForge.Decode(Ring.EncryptUtf8("0123456789abcdef0123"));
        byte[] shortened = [.. data.AsSpan(0, data.Length - 33), .. new byte[32]];

        AssertRejected(TokenForge.Resign(_key, shortened));
    }

    [Fact]
    public void MissingCiphertextIsRejectedEvenWhenSigned()
    {
        var data = TokenForge.Decode(Ring.EncryptUtf8("x"));
        byte[] headerOnly = [.. data.AsSpan(0, 25), .. new byte[32]];

        AssertRejected(TokenForge.Resign(_key, headerOnly));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("=")]
    [InlineData("====")]
    [InlineData("gA")]
    [InlineData("not a token at all")]
    [InlineData("%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%")]
    [InlineData("gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==garbage")]
    [InlineData("gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA=!")]
    [InlineData("gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA")]
    [InlineData("gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA=")]
    [InlineData("\0\0\0\0")]
    public void NonBase64AndEmptyInputIsRejected(string token)
    {
        AssertRejected(token);
    }

    [Fact]
    public void GenuineTokenWithPaddingStrippedIsRejectedLikePython()
    {
        var token = Ring.Encrypt([1]);
        token.ShouldEndWith("=");

        AssertRejected(token.TrimEnd('='));
        Ring.Decrypt(token).ShouldBe([1]);
    }

    [Fact]
    public void NonUrlSafeAlphabetIsRejected()
    {
        string token;
        do
        {
            token = Ring.EncryptUtf8(Guid.NewGuid().ToString());
        }
        while (!token.Contains('-') && !token.Contains('_'));

        AssertRejected(token.Replace('-', '+').Replace('_', '/'));
    }

    [Fact]
    public void HugeGarbageInputIsRejected()
    {
        AssertRejected(new string('A', 16 * 1024 * 1024));
        AssertRejected("gAAAAA" + new string('A', 8 * 1024 * 1024));
        AssertRejected(new string('%', 1024 * 1024));
    }

    [Fact]
    public void HugeGenuineTokenRoundTrips()
    {
        var plaintext = RandomNumberGenerator.GetBytes(8 * 1024 * 1024);

        // SequenceEqual rather than ShouldBe: Shouldly compares element by element and takes seconds at this size.
        Ring.Decrypt(Ring.Encrypt(plaintext)).AsSpan().SequenceEqual(plaintext).ShouldBeTrue();
    }

    [Fact]
    public void EveryRejectionUsesTheSameMessageAndNoInnerException()
    {
        var expired = Ring.EncryptUtf8("x");
        var tampered = TokenForge.Decode(Ring.EncryptUtf8("x"));
        tampered[^1] ^= 1;
        var block = new byte[16];
        block[15] = 0;
        var badPadding = TokenForge.Build(_key, 0x80, (ulong)Start.ToUnixTimeSeconds(), block);
        _clock.Now = Start.AddHours(1);

        string[] tokens = ["", "%%%", expired, TokenForge.Encode(tampered), badPadding];
        foreach (var token in tokens)
        {
            var error = Should.Throw<FernetException>(() => Ring.Decrypt(token, TimeSpan.FromMinutes(1)));
            error.Message.ShouldBe(GenericMessage);
            error.InnerException.ShouldBeNull();
        }
    }

    private void AssertRejected(string token, FernetKeyRing? ring = null, TimeSpan? ttl = null)
    {
        ring ??= Ring;
        var error = Should.Throw<FernetException>(() => ring.Decrypt(token, ttl));
        error.Message.ShouldBe(GenericMessage);
        Should.Throw<FernetException>(() => ring.DecryptUtf8(token, ttl));
        ring.TryDecrypt(token, ttl, out var plaintext).ShouldBeFalse();
        plaintext.ShouldBeNull();
        if (ttl is null)
        {
            Should.Throw<FernetException>(() => ring.Rotate(token));
        }
    }

    private static byte[] Padded(byte[] data)
    {
        var pad = 16 - data.Length % 16;
        return [.. data, .. Enumerable.Repeat((byte)pad, pad)];
    }
}
