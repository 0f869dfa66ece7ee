using System.Buffers;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Majestix.InferenceApi.Inference.Providers.OpenAiCompatible;

/// <summary>
/// OpenAI, OpenRouter and Vertex AI (its OpenAI-compatible endpoint) over Chat Completions, streamed.
/// A hand-written client rather than the OpenAI SDK: the SDK's pipeline policies, per-event JsonDocument,
/// model objects and JSON patches dominated the gateway's CPU and allocations. Microsoft.Extensions.AI's
/// IChatClient is not used either: it parses tool arguments only once a call is complete (a cut stream
/// would lose the fragments we must count and bill) and it drops the non-standard <c>reasoning_content</c>
/// deltas that OpenRouter and DeepSeek send.
/// </summary>
internal sealed class OpenAICompatibleProvider : IModelProvider
{
    // Enough to hold any provider's error JSON; a larger body is cut, its message is best effort.
    private const int MaxErrorBodyBytes = 16 * 1024;

    // Request bodies go to an API, never into HTML: no need to escape '<', '+' or non-ASCII text.
    private static readonly JsonWriterOptions RequestJsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly OpenAICompatibleDialect _dialect;
    private readonly Uri _chatCompletionsUri;
    private readonly Func<CancellationToken, Task<string>> _bearerToken;
    private readonly HttpClient _httpClient;
    private readonly TimeSpan _requestTimeout;

    /// <param name="endpoint">The API root the paths are relative to, e.g. <c>https://api.openai.com/v1</c>.</param>
    /// <param name="bearerToken">The credential sent as <c>Authorization: Bearer</c>, asked for on every request.</param>
    public OpenAICompatibleProvider(OpenAICompatibleDialect dialect, Uri endpoint, Func<CancellationToken, Task<string>> bearerToken, HttpClient httpClient, TimeSpan requestTimeout)
    {
        _dialect = dialect;
        _chatCompletionsUri = new Uri(endpoint.AbsoluteUri.TrimEnd('/') + "/chat/completions");
        _bearerToken = bearerToken;
        _httpClient = httpClient;
        _requestTimeout = requestTimeout;
    }

    public async IAsyncEnumerable<ModelEvent> StreamAsync(ModelRequest request, ReceivedOutput received, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var stream = new OpenAIStreamMapper(received);
        var events = ProviderCall.GuardAsync(token => ReadStreamAsync(request, stream, token), _dialect.Name, _requestTimeout, cancellationToken);
        await foreach (var modelEvent in events)
        {
            yield return modelEvent;
        }
        foreach (var modelEvent in stream.Finish(_dialect.Name))
        {
            yield return modelEvent;
        }
    }

    private async IAsyncEnumerable<ModelEvent> ReadStreamAsync(ModelRequest request, OpenAIStreamMapper stream, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Disposed last: the pooled body must outlive the response (see PooledJsonContent).
        using var httpRequest = await CreateRequestAsync(request, cancellationToken);
        using var response = await _httpClient.SendAsync(httpRequest, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw await FailureAsync(response, cancellationToken);
        }
        var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        await foreach (var item in SseParser.Create(body, stream.Read).EnumerateAsync(cancellationToken))
        {
            for (var i = 0; i < stream.Events.Count; i++)
            {
                yield return stream.Events[i];
            }
            stream.ClearEvents();
            if (item.Data)
            {
                yield break;
            }
        }
    }

    private async Task<HttpRequestMessage> CreateRequestAsync(ModelRequest request, CancellationToken cancellationToken)
    {
        var token = await _bearerToken(cancellationToken);
        var content = new PooledJsonContent();
        using (var json = new Utf8JsonWriter(content.Body, RequestJsonOptions))
        {
            OpenAIChatMapper.WriteRequest(json, request, _dialect);
        }
        var httpRequest = new HttpRequestMessage(HttpMethod.Post, _chatCompletionsUri) { Content = content };
        httpRequest.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        return httpRequest;
    }

    /// <summary>The failure for a non-2xx answer; the upstream's error message goes only into the inner exception, for logs.</summary>
    private async Task<ProviderFailureException> FailureAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var message = await ReadErrorMessageAsync(response, cancellationToken);
        var inner = new HttpRequestException($"Upstream answered {status}: {message}", null, response.StatusCode);
        return ProviderFailureException.FromStatus(status, _dialect.Name, inner);
    }

    private static async Task<string> ReadErrorMessageAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(MaxErrorBodyBytes);
        try
        {
            var length = 0;
            try
            {
                await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
                int read;
                while (length < MaxErrorBodyBytes && (read = await body.ReadAsync(buffer.AsMemory(length, MaxErrorBodyBytes - length), cancellationToken)) > 0)
                {
                    length += read;
                }
            }
            catch (Exception exception) when (exception is HttpRequestException or IOException)
            {
                // The status alone decides the failure; whatever arrived of the body is still worth logging.
            }
            var bytes = buffer.AsSpan(0, length);
            return ErrorMessage(bytes) ?? Encoding.UTF8.GetString(bytes[..Math.Min(length, 512)]);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // OpenAI and OpenRouter answer {"error":{"message":…}}; Vertex sometimes wraps it in an array. The first
    // string `message` property wins; a body cut at the size limit yields whatever was read before the cut.
    private static string? ErrorMessage(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body, isFinalBlock: false, default);
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("message"u8)
                    && reader.Read() && reader.TokenType == JsonTokenType.String)
                {
                    return reader.GetString();
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON (an HTML error page from a proxy): the raw start of the body is used instead.
        }
        return null;
    }
}
