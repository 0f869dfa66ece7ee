using System.Text;

namespace Majestix.Fernet.Tests;

public class FernetKeyRingTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void BytesRoundTrip()
    {
        var ring = new FernetKeyRing(FernetKey.Generate());
        byte[] plaintext = [0, 1, 2, 255, 254, 0];

        ring.Decrypt(ring.Encrypt(plaintext)).ShouldBe(plaintext);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(4096)]
    public void EveryPlaintextLengthRoundTripsAndPadsToWholeBlocks(int length)
    {
        var ring = new FernetKeyRing(FernetKey.Generate());
        var plaintext = new byte[length];
        Random.Shared.NextBytes(plaintext);

        var token = ring.Encrypt(plaintext);

        TokenForge.Decode(token).Length.ShouldBe(1 + 8 + 16 + (length / 16 + 1) * 16 + 32);
        ring.Decrypt(token).ShouldBe(plaintext);
    }

    [Fact]
    public void Utf8HelpersRoundTripNonAsciiText()
    {
        var ring = new FernetKeyRing(FernetKey.Generate());
        const string text = "chat history: héllo wörld, 你好, 🚀";

        ring.DecryptUtf8(ring.EncryptUtf8(text)).ShouldBe(text);
        Encoding.UTF8.GetString(ring.Decrypt(ring.EncryptUtf8(text))).ShouldBe(text);
    }

    [Fact]
    public void TokensUsePaddedUrlSafeBase64LikePython()
    {
        var ring = new FernetKeyRing(FernetKey.Generate());

        for (var length = 0; length < 64; length++)
        {
            var token = ring.Encrypt(new byte[length]);
            (token.Length % 4).ShouldBe(0);
            token.ShouldNotContain('+');
            token.ShouldNotContain('/');
        }
    }

    [Fact]
    public void SamePlaintextEncryptsDifferentlyEachTime()
    {
        var ring = new FernetKeyRing(FernetKey.Generate());

        ring.EncryptUtf8("same").ShouldNotBe(ring.EncryptUtf8("same"));
    }

    [Fact]
    public void TokenCarriesTheTimeProvidersTimestamp()
    {
        var clock = new FixedTimeProvider(Start.AddMilliseconds(999));
        var ring = new FernetKeyRing(FernetKey.Generate(), clock);

        ring.ExtractTimestamp(ring.EncryptUtf8("x")).ShouldBe(Start);
    }

    [Fact]
    public void TokenIsAcceptedUpToAndIncludingItsTtl()
    {
        var clock = new FixedTimeProvider(Start);
        var ring = new FernetKeyRing(FernetKey.Generate(), clock);
        var token = ring.EncryptUtf8("x");

        clock.Now = Start.AddSeconds(60);
        ring.DecryptUtf8(token, TimeSpan.FromSeconds(60)).ShouldBe("x");

        clock.Now = Start.AddSeconds(61);
        Should.Throw<FernetException>(() => ring.DecryptUtf8(token, TimeSpan.FromSeconds(60)));
        ring.DecryptUtf8(token).ShouldBe("x");
    }

    [Fact]
    public void TokenUpToSixtySecondsInTheFutureIsAcceptedWithTtl()
    {
        var clock = new FixedTimeProvider(Start.AddSeconds(60));
        var ring = new FernetKeyRing(FernetKey.Generate(), clock);
        var token = ring.EncryptUtf8("x");

        clock.Now = Start;
        ring.DecryptUtf8(token, TimeSpan.FromSeconds(10)).ShouldBe("x");

        clock.Now = Start.AddSeconds(-1);
        Should.Throw<FernetException>(() => ring.DecryptUtf8(token, TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void FutureTokenIsAcceptedWithoutTtlLikePython()
    {
        var clock = new FixedTimeProvider(Start.AddDays(365));
        var ring = new FernetKeyRing(FernetKey.Generate(), clock);
        var token = ring.EncryptUtf8("x");

        clock.Now = Start;
        ring.DecryptUtf8(token).ShouldBe("x");
    }

    [Fact]
    public void NegativeTtlIsAnArgumentError()
    {
        var ring = new FernetKeyRing(FernetKey.Generate());
        var token = ring.EncryptUtf8("x");

        Should.Throw<ArgumentOutOfRangeException>(() => ring.Decrypt(token, TimeSpan.FromSeconds(-1)));
    }

    [Fact]
    public void KeyRingEncryptsWithTheFirstKeyAndDecryptsWithAny()
    {
        var oldKey = FernetKey.Generate();
        var newKey = FernetKey.Generate();
        var oldRing = new FernetKeyRing(oldKey);
        var rotated = new FernetKeyRing([newKey, oldKey]);

        rotated.DecryptUtf8(oldRing.EncryptUtf8("old")).ShouldBe("old");

        var fresh = rotated.EncryptUtf8("new");
        new FernetKeyRing(newKey).DecryptUtf8(fresh).ShouldBe("new");
        Should.Throw<FernetException>(() => oldRing.DecryptUtf8(fresh));
    }

    [Fact]
    public void RotateReEncryptsUnderThePrimaryKeyAndKeepsTheTimestamp()
    {
        var oldKey = FernetKey.Generate();
        var newKey = FernetKey.Generate();
        var clock = new FixedTimeProvider(Start);
        var token = new FernetKeyRing(oldKey, clock).EncryptUtf8("history");

        clock.Now = Start.AddHours(1);
        var rotated = new FernetKeyRing([newKey, oldKey], clock).Rotate(token);

        var newOnly = new FernetKeyRing(newKey, clock);
        newOnly.DecryptUtf8(rotated).ShouldBe("history");
        newOnly.ExtractTimestamp(rotated).ShouldBe(Start);
        Should.Throw<FernetException>(() => newOnly.Rotate(token));
    }

    [Fact]
    public void ParseReadsTheFernetKeysFormat()
    {
        var first = FernetKey.Generate();
        var second = FernetKey.Generate();

        var ring = FernetKeyRing.Parse($" {first.ToBase64UrlString()} ,{second.ToBase64UrlString()},");

        ring.Keys.Count.ShouldBe(2);
        ring.PrimaryKey.ToBase64UrlString().ShouldBe(first.ToBase64UrlString());
        ring.Keys[1].ToBase64UrlString().ShouldBe(second.ToBase64UrlString());
    }

    [Theory]
    [InlineData("")]
    [InlineData(" , ")]
    [InlineData("not-a-key")]
    [InlineData("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=,short")]
    [InlineData("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=;cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=")]
    public void ParseRejectsBadKeyListsWithoutEchoingThem(string keys)
    {
        var error = Should.Throw<FormatException>(() => FernetKeyRing.Parse(keys));

        if (keys.Length > 0)
        {
            error.Message.ShouldNotContain("cw_0x689");
            error.Message.ShouldNotContain("short");
        }
    }

    [Theory]
    [InlineData("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=", true)]
    [InlineData("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4", true)]
    [InlineData("cw/0x689RpI+jtRR7oE8h/eQsKImvJapLeSbXpwF4e4=", false)]
    [InlineData("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4=", false)]
    [InlineData("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4e4=", false)]
    [InlineData("", false)]
    public void KeyParsingAcceptsOnlyUrlSafeBase64Of32Bytes(string encoded, bool valid)
    {
        FernetKey.TryParse(encoded, out var key).ShouldBe(valid);
        if (valid)
        {
            key!.ToBase64UrlString().ShouldBe("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=");
        }
    }

    [Fact]
    public void KeyFromBytesSplitsSigningAndEncryptionHalves()
    {
        var raw = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();

        var key = FernetKey.FromBytes(raw);

        key.SigningKey.ShouldBe(raw[..16]);
        key.EncryptionKey.ShouldBe(raw[16..]);
        Should.Throw<ArgumentException>(() => FernetKey.FromBytes(new byte[31]));
    }

    [Fact]
    public void KeyToStringDoesNotRevealTheKey()
    {
        var key = FernetKey.Generate();

        key.ToString()!.ShouldNotContain(key.ToBase64UrlString()[..10]);
    }

    [Fact]
    public void ConstructorRejectsEmptyOrNullKeys()
    {
        Should.Throw<ArgumentException>(() => new FernetKeyRing(Array.Empty<FernetKey>()));
        Should.Throw<ArgumentException>(() => new FernetKeyRing([FernetKey.Generate(), null!]));
        Should.Throw<ArgumentNullException>(() => new FernetKeyRing((IEnumerable<FernetKey>)null!));
    }

    [Fact]
    public void InjectedIvMustBeSixteenBytes()
    {
        var ring = new FernetKeyRing(FernetKey.Generate());

        Should.Throw<ArgumentException>(() => ring.Encrypt([1, 2, 3], new byte[15]));
    }

    [Fact]
    public void DecryptUtf8RejectsGenuineTokenHoldingInvalidUtf8()
    {
        var ring = new FernetKeyRing(FernetKey.Generate());
        var token = ring.Encrypt([0xC3, 0x28]);

        Should.Throw<DecoderFallbackException>(() => ring.DecryptUtf8(token));
    }

    [Fact]
    public void KeyRingIsSafeToShareAcrossThreads()
    {
        var ring = new FernetKeyRing(FernetKey.Generate());

        Parallel.For(0, 2000, i => ring.DecryptUtf8(ring.EncryptUtf8($"message {i}")).ShouldBe($"message {i}"));
    }
}
