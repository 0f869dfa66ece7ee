using System.Buffers;
using System.Diagnostics.CodeAnalysis;

namespace Majestix.InferenceApi;

/// <summary>
/// Ids that end up in Firestore document paths (user ids, grant keys): 1 to <see cref="MaxLength"/> letters, digits or
/// <c>-_.:</c>, so none can name another document.
/// </summary>
internal static class DocumentIds
{
    public const int MaxLength = 128;

    private static readonly SearchValues<char> Allowed =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:");

    public static bool IsValid([NotNullWhen(true)] string? value) =>
        value is { Length: > 0 and <= MaxLength } && value.AsSpan().IndexOfAnyExcept(Allowed) < 0 && value is not ("." or "..");
}
