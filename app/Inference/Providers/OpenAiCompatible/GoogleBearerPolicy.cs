using System.ClientModel.Primitives;
using Majestix.GoogleCloud;

namespace Majestix.InferenceApi.Inference.Providers.OpenAiCompatible;

/// <summary>
/// Vertex AI takes a Google access token instead of an API key. The token source caches and refreshes
/// it, so asking on every request is a cache hit until the token nears expiry.
/// </summary>
internal sealed class GoogleBearerPolicy(IGoogleAccessTokenSource tokens) : AuthenticationPolicy
{
    public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
    {
        // The gateway only streams asynchronously; a synchronous call still gets a valid token.
        var token = tokens.GetAccessTokenAsync(message.CancellationToken).GetAwaiter().GetResult();
        message.Request.Headers.Set("Authorization", "Bearer " + token);
        ProcessNext(message, pipeline, currentIndex);
    }

    public override async ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
    {
        var token = await tokens.GetAccessTokenAsync(message.CancellationToken);
        message.Request.Headers.Set("Authorization", "Bearer " + token);
        await ProcessNextAsync(message, pipeline, currentIndex);
    }
}
