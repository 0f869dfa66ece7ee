using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using OpenAI;
using OpenAI.Chat;

namespace Majestix.InferenceApi.Inference.Providers.OpenAiCompatible;

/// <summary>
/// OpenAI, OpenRouter and Vertex AI (its OpenAI-compatible endpoint) through the official OpenAI SDK.
/// Microsoft.Extensions.AI's IChatClient is not used: its OpenAI adapter parses tool arguments into a
/// dictionary only once a call is complete (a cut stream would lose the fragments we must count and bill)
/// and it drops the non-standard <c>reasoning_content</c> deltas that OpenRouter and DeepSeek send.
/// </summary>
internal sealed class OpenAICompatibleProvider : IModelProvider
{
    private readonly OpenAIClient _client;
    private readonly OpenAICompatibleDialect _dialect;
    private readonly TimeSpan _requestTimeout;
    private readonly ConcurrentDictionary<string, ChatClient> _chatClients = new(StringComparer.Ordinal);

    public OpenAICompatibleProvider(OpenAICompatibleDialect dialect, Uri endpoint, AuthenticationPolicy authentication, HttpClient httpClient, TimeSpan requestTimeout)
    {
        _dialect = dialect;
        _requestTimeout = requestTimeout;
        var options = new OpenAIClientOptions
        {
            Endpoint = endpoint,
            Transport = new HttpClientPipelineTransport(httpClient),
            // Fallback to another model is the gateway's decision; SDK retries would multiply billable calls.
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            // The gateway enforces its own overall timeout (ProviderCall.GuardAsync) and tells it apart from a client abort.
            NetworkTimeout = Timeout.InfiniteTimeSpan,
        };
        // The AuthenticationPolicy constructor is marked experimental, but it is the SDK's only way to send a
        // credential that changes per request (Vertex AI's Google access token).
#pragma warning disable OPENAI001
        _client = new OpenAIClient(authentication, options);
#pragma warning restore OPENAI001
    }

    public async IAsyncEnumerable<ModelEvent> StreamAsync(ModelRequest request, ReceivedOutput received, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var chat = _chatClients.GetOrAdd(request.Model, _client.GetChatClient);
        var messages = OpenAIChatMapper.ToMessages(request);
        var options = OpenAIChatMapper.ToOptions(request, _dialect);
        var stream = new OpenAIStreamMapper(received);
        var updates = ProviderCall.GuardAsync(
            token => chat.CompleteChatStreamingAsync(messages, options, token), _dialect.Name, _requestTimeout, cancellationToken);
        await foreach (var update in updates)
        {
            foreach (var modelEvent in stream.Map(update))
            {
                yield return modelEvent;
            }
        }
        foreach (var modelEvent in stream.Finish(_dialect.Name))
        {
            yield return modelEvent;
        }
    }
}
