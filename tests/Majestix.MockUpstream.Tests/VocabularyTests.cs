using Majestix.MockUpstream.Generation;

namespace Majestix.MockUpstream.Tests;

public class VocabularyTests
{
    [Fact]
    public void EveryWordWithLeadingSpaceIsOneO200kToken()
    {
        var multiToken = Vocabulary.Words.Where(w => MockUpstreamApp.Tokenizer.CountTokens(" " + w) != 1).ToList();

        multiToken.ShouldBeEmpty();
        Vocabulary.Words.Distinct().Count().ShouldBe(Vocabulary.Words.Length);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(42)]
    public void AnyRunOfWordsTokenizesToOneTokenPerWord(int seed)
    {
        var random = new Random(seed);
        var text = "";
        for (var n = 1; n <= 400; n++)
        {
            text += " " + Vocabulary.Words[random.Next(Vocabulary.Words.Length)];
            MockUpstreamApp.Tokenizer.CountTokens(text).ShouldBe(n);
        }
    }

    [Fact]
    public void ToolArgumentFragmentsReportTheTokenCountOfEveryPrefix()
    {
        const string arguments = "{\"city\":\"river valley\",\"days\":[3,4],\"unit\":\"celsius\",\"note\":\"über café\"}";

        var (fragments, cumulative) = TokenCounter.Fragment(arguments);

        string.Concat(fragments).ShouldBe(arguments);
        var prefix = "";
        for (var i = 0; i < fragments.Length; i++)
        {
            prefix += fragments[i];
            cumulative[i].ShouldBe(MockUpstreamApp.Tokenizer.CountTokens(prefix));
        }
        cumulative[^1].ShouldBe(MockUpstreamApp.Tokenizer.CountTokens(arguments));
    }
}
