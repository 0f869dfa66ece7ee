using System.Text.Json;

namespace Majestix.InferenceApi.Inference.Providers.OpenAiCompatible;

/// <summary>What differs between servers that speak Chat Completions: their name and how thinking is asked for.</summary>
internal sealed record OpenAICompatibleDialect(string Name, Action<Utf8JsonWriter>? WriteThinkingRequest)
{
    // OpenAI's own models reason without exposing it through Chat Completions: nothing to ask for.
    public static readonly OpenAICompatibleDialect OpenAI = new("openai", null);

    public static readonly OpenAICompatibleDialect OpenRouter = new("openrouter", json =>
    {
        json.WriteStartObject("reasoning"u8);
        json.WriteBoolean("enabled"u8, true);
        json.WriteEndObject();
    });

    public static readonly OpenAICompatibleDialect Vertex = new("vertex", json =>
    {
        json.WriteStartObject("extra_body"u8);
        json.WriteStartObject("google"u8);
        json.WriteStartObject("thinking_config"u8);
        json.WriteBoolean("include_thoughts"u8, true);
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndObject();
    });
}
