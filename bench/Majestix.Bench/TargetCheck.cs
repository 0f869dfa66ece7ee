using System.Globalization;
using System.Text.Json;
using StackExchange.Redis;

namespace Majestix.Bench;

/// <summary>Credits the benchmark user was charged, against the requests inference-api served.</summary>
internal sealed record BillingCheck(long ChargePerRequestUnits, long SpentUnits, long RequestsServed)
{
    public double RequestsBilled => ChargePerRequestUnits == 0 ? 0 : SpentUnits / (double)ChargePerRequestUnits;
}

/// <summary>
/// Before anything is timed: every target must return the mock's answer (16 completion tokens) as
/// JSON and as a complete stream, and inference-api must charge for it.
/// </summary>
internal sealed class TargetCheck
{
    private readonly string _userId;
    private long _balanceBefore;
    private long _chargePerRequest;

    private TargetCheck(string userId) => _userId = userId;

    public static async Task<TargetCheck> RunAsync(BenchStack stack, IConnectionMultiplexer redis)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var check = new TargetCheck(stack.ProUserId);
        foreach (var target in stack.Targets)
        {
            var json = await SendAsync(http, target, stream: false);
            using var document = JsonDocument.Parse(json);
            var completion = document.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32();
            var content = document.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString();
            if (completion != 16 || string.IsNullOrWhiteSpace(content))
            {
                throw new InvalidOperationException($"{target.Name} did not return the mock's completion: {json}");
            }
            if (target == stack.Majestix)
            {
                // The first call loaded the balance; the second one's charge is the price of every request that follows.
                var loaded = await check.BalanceAsync(redis);
                await SendAsync(http, target, stream: false);
                check._chargePerRequest = loaded - await check.BalanceAsync(redis);
                check._balanceBefore = await check.BalanceAsync(redis);
                if (check._chargePerRequest <= 0)
                {
                    throw new InvalidOperationException("inference-api served a request without charging credits.");
                }
            }
            var stream = await SendAsync(http, target, stream: true);
            if (!stream.Contains("data: [DONE]", StringComparison.Ordinal) || !stream.Contains("\"completion_tokens\":16", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"{target.Name} did not return a complete stream with usage: {stream}");
            }
            BenchStack.Log($"{target.Name}: JSON and streaming answers are correct");
        }
        return check;
    }

    /// <summary>Requests served after the check (the check's own stream included) against what the balance lost.</summary>
    public async Task<BillingCheck> BillingAfterAsync(IConnectionMultiplexer redis, long requestsServedSinceCheck) =>
        new(_chargePerRequest, _balanceBefore - await BalanceAsync(redis), requestsServedSinceCheck);

    private async Task<long> BalanceAsync(IConnectionMultiplexer redis)
    {
        var values = await redis.GetDatabase().HashGetAsync($"credits:{_userId}", ["plan", "topup"]);
        return values.Sum(v => long.Parse((string)v!, CultureInfo.InvariantCulture));
    }

    private static async Task<string> SendAsync(HttpClient http, Target target, bool stream)
    {
        using var request = target.NewRequest(stream);
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{target.Name} answered {(int)response.StatusCode}: {body}");
        }
        return body;
    }
}
