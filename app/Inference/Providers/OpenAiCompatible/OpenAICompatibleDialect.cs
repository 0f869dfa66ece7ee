using System.ClientModel.Primitives;
using OpenAI.Chat;

namespace Majestix.InferenceApi.Inference.Providers.OpenAiCompatible;

/// <summary>What differs between servers that speak Chat Completions: their name and how thinking is asked for.</summary>
internal sealed record OpenAICompatibleDialect(string Name, Action<ChatCompletionOptions>? RequestThinking)
{
    // OpenAI's own models reason without exposing it through Chat Completions: nothing to ask for.
    public static readonly OpenAICompatibleDialect OpenAI = new("openai", null);

#pragma warning disable SCME0001 // JsonPatch: the only way the SDK sends fields it does not model.
    public static readonly OpenAICompatibleDialect OpenRouter = new("openrouter",
        options => options.Patch.Set("$.reasoning"u8, BinaryData.FromString("""{"enabled":true}""")));

    public static readonly OpenAICompatibleDialect Vertex = new("vertex",
        options => options.Patch.Set("$.extra_body"u8, BinaryData.FromString("""{"google":{"thinking_config":{"include_thoughts":true}}}""")));
#pragma warning restore SCME0001
}
