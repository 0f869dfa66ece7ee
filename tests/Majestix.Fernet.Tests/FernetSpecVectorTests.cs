using System.Text;

namespace Majestix.Fernet.Tests;

public class FernetSpecVectorTests
{
    public static TheoryData<int> GenerateVectors => Indexes("generate.json");

    public static TheoryData<int> VerifyVectors => Indexes("verify.json");

    public static TheoryData<string> InvalidVectors => [.. FernetVector.Load("invalid.json").Select(v => v.Desc!)];

    [Theory]
    [MemberData(nameof(GenerateVectors))]
    public void GenerateVectorProducesTheExactToken(int index)
    {
        var vector = FernetVector.Load("generate.json")[index];
        var ring = new FernetKeyRing(FernetKey.Parse(vector.Secret), FixedTimeProvider.At(vector.Now));

        var token = ring.Encrypt(Encoding.UTF8.GetBytes(vector.Src!), vector.Iv);

        token.ShouldBe(vector.Token);
    }

    [Theory]
    [MemberData(nameof(VerifyVectors))]
    public void VerifyVectorDecryptsToTheSource(int index)
    {
        var vector = FernetVector.Load("verify.json")[index];
        var ring = new FernetKeyRing(FernetKey.Parse(vector.Secret), FixedTimeProvider.At(vector.Now));

        ring.DecryptUtf8(vector.Token, TimeSpan.FromSeconds(vector.TtlSeconds!.Value)).ShouldBe(vector.Src);
    }

    [Theory]
    [MemberData(nameof(InvalidVectors))]
    public void InvalidVectorIsRejectedWithTheGenericError(string desc)
    {
        var vector = FernetVector.Load("invalid.json").Single(v => v.Desc == desc);
        var ring = new FernetKeyRing(FernetKey.Parse(vector.Secret), FixedTimeProvider.At(vector.Now));
        var ttl = TimeSpan.FromSeconds(vector.TtlSeconds!.Value);

        var error = Should.Throw<FernetException>(() => ring.Decrypt(vector.Token, ttl));

        error.Message.ShouldBe(new FernetException().Message);
        ring.TryDecrypt(vector.Token, ttl, out var plaintext).ShouldBeFalse();
        plaintext.ShouldBeNull();
    }

    [Fact]
    public void EveryVectorFileIsPresentAndNonEmpty()
    {
        FernetVector.Load("generate.json").ShouldNotBeEmpty();
        FernetVector.Load("verify.json").ShouldNotBeEmpty();
        FernetVector.Load("invalid.json").Count.ShouldBe(8);
    }

    private static TheoryData<int> Indexes(string file) => [.. Enumerable.Range(0, FernetVector.Load(file).Count)];
}
