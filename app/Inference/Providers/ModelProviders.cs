using Majestix.InferenceApi.Inference.Catalog;

namespace Majestix.InferenceApi.Inference.Providers;

/// <summary>The provider that serves each catalog provider name; OpenAI, OpenRouter and Vertex share one family.</summary>
public sealed class ModelProviders(IReadOnlyDictionary<ModelProvider, IModelProvider> providers) : IDisposable
{
    public void Dispose()
    {
        foreach (var provider in providers.Values.OfType<IDisposable>())
        {
            provider.Dispose();
        }
    }

    public IModelProvider For(ModelProvider provider) =>
        providers.TryGetValue(provider, out var found) ? found : throw new InvalidOperationException($"No provider is configured for {provider}.");
}
