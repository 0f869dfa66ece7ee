namespace Majestix.InferenceApi.Keys;

/// <summary>Firestore <c>api_keys/{key_id}</c>. Only the SHA-256 of the key is stored.</summary>
public sealed record ApiKeyRecord(
    string KeyId,
    string UserId,
    string Name,
    string Prefix,
    string KeyHash,
    string Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset? LastUsedAt);

/// <summary>The one field of <c>users/{uid}</c> identity needs.</summary>
public sealed record UserPlanRecord(string? Plan);

public sealed record CreateApiKeyRequest(string? Name);

public sealed record CreatedApiKey(string KeyId, string ApiKey, string Name, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt);

public sealed record ApiKeySummary(
    string KeyId,
    string Name,
    string Prefix,
    string Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset? LastUsedAt,
    DateTimeOffset ExpiresAt);

public sealed record ApiKeyList(IReadOnlyList<ApiKeySummary> Keys);
