using System.Runtime.CompilerServices;
using Anthropic;
using Anthropic.Core;

namespace Majestix.InferenceApi.Inference.Providers.Anthropic;

/// <summary>
/// Anthropic Messages through the official Anthropic SDK. Its IChatClient adapter is not used for the
/// same reason as on the OpenAI side: tool input arrives only as a parsed dictionary at block end, so a
/// cut stream's partial arguments (which the provider bills) would be invisible.
/// </summary>
internal sealed class AnthropicProvider : IModelProvider, IDisposable
{
    private const string ProviderName = "anthropic";
    private readonly AnthropicClient _client;
    private readonly TimeSpan _requestTimeout;

    public AnthropicProvider(AnthropicProviderOptions options, HttpClient httpClient)
    {
        _requestTimeout = options.RequestTimeout;
        _client = new AnthropicClient(new ClientOptions
        {
            BaseUrl = options.BaseUrl.TrimEnd('/'),
            ApiKey = options.ApiKey,
            HttpClient = httpClient,
            // Fallback to another model is the gateway's decision; SDK retries would multiply billable calls.
            MaxRetries = 0,
            // The gateway enforces its own overall timeout (ProviderCall.GuardAsync) and tells it apart from a client abort.
            Timeout = Timeout.InfiniteTimeSpan,
        });
    }

    public void Dispose() => _client.Dispose();

    public async IAsyncEnumerable<ModelEvent> StreamAsync(ModelRequest request, ReceivedOutput received, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var parameters = AnthropicMessageMapper.ToParams(request);
        var stream = new AnthropicStreamMapper(received);
        var events = ProviderCall.GuardAsync(
            token => _client.Messages.CreateStreaming(parameters, token), ProviderName, _requestTimeout, cancellationToken);
        await foreach (var rawEvent in events)
        {
            foreach (var modelEvent in stream.Map(rawEvent))
            {
                yield return modelEvent;
            }
        }
        foreach (var modelEvent in stream.Finish(ProviderName))
        {
            yield return modelEvent;
        }
    }
}
