using Majestix.MockUpstream.Behaviour;

namespace Majestix.MockUpstream.Tests;

public class DirectiveTests
{
    [Fact]
    public void ParsesEveryKnobFromOneDirective()
    {
        var behaviour = Directive.Parse(
            "please [[mock latency_ms=50 ttft_ms=20 tokens_per_second=12.5 output_tokens=7 status=503 fail_times=2 fail_key=k1 "
            + "cut_after_tokens=3 cut_mode=eof tool_call=get_weather thinking=true thinking_tokens=4 retry_after=9]] thanks")!;

        behaviour.Values().ShouldBe(new Dictionary<string, string>
        {
            ["latency_ms"] = "50",
            ["ttft_ms"] = "20",
            ["tokens_per_second"] = "12.5",
            ["output_tokens"] = "7",
            ["status"] = "503",
            ["fail_times"] = "2",
            ["fail_key"] = "k1",
            ["cut_after_tokens"] = "3",
            ["cut_mode"] = "eof",
            ["tool_call"] = "get_weather",
            ["thinking"] = "true",
            ["thinking_tokens"] = "4",
            ["retry_after"] = "9",
        }, ignoreOrder: true);
    }

    [Fact]
    public void BareKnobMeansTrueAndLaterDirectivesOverrideEarlierOnes()
    {
        var behaviour = Directive.Parse("[[mock thinking output_tokens=3]] and later [[mock output_tokens=5]]")!;

        behaviour.Thinking.ShouldBe(true);
        behaviour.OutputTokens.ShouldBe(5);
    }

    [Theory]
    [InlineData("no directive here")]
    [InlineData("[[mockery]] is just a word")]
    [InlineData("")]
    public void TextWithoutADirectiveYieldsNothing(string text) => Directive.Parse(text).ShouldBeNull();

    [Theory]
    [InlineData("[[mock latncy_ms=5]]", "unknown mock knob")]
    [InlineData("[[mock latency_ms=-5]]", "latency_ms")]
    [InlineData("[[mock status=302]]", "status")]
    [InlineData("[[mock cut_mode=sometimes]]", "cut_mode")]
    public void InvalidKnobsAreRejectedWithTheirName(string text, string expected) =>
        Should.Throw<FormatException>(() => Directive.Parse(text)).Message.ShouldContain(expected);
}
