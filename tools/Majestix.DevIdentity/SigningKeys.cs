using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.IdentityModel.Tokens;

namespace Majestix.DevIdentity;

/// <summary>
/// One RSA key per issuer, kept on disk so tokens written to the env file survive a restart of the
/// dev stack. Each issuer publishes only its public half, the way Google publishes its key sets.
/// </summary>
public sealed class SigningKeys
{
    public const string Firebase = "firebase";
    public const string AppCheck = "appcheck";
    public const string Google = "google";
    private static readonly string[] Issuers = [Firebase, AppCheck, Google];

    private readonly Dictionary<string, RsaSecurityKey> _keys;

    private SigningKeys(Dictionary<string, RsaSecurityKey> keys) => _keys = keys;

    public static SigningKeys LoadOrCreate(string stateDirectory)
    {
        Directory.CreateDirectory(stateDirectory);
        var path = Path.Combine(stateDirectory, "signing-keys.json");
        var stored = File.Exists(path)
            ? JsonSerializer.Deserialize(File.ReadAllText(path), DevIdentityJson.Default.DictionaryStringStoredKey) ?? []
            : [];

        var keys = new Dictionary<string, RsaSecurityKey>();
        var changed = false;
        foreach (var issuer in Issuers)
        {
            if (!stored.TryGetValue(issuer, out var entry))
            {
                using var fresh = RSA.Create(2048);
                entry = new StoredKey($"dev-{issuer}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}", fresh.ExportRSAPrivateKeyPem());
                stored[issuer] = entry;
                changed = true;
            }
            var rsa = RSA.Create();
            rsa.ImportFromPem(entry.PrivateKeyPem);
            keys[issuer] = new RsaSecurityKey(rsa) { KeyId = entry.KeyId };
        }

        if (changed)
        {
            StateFiles.WriteAtomically(path, JsonSerializer.Serialize(stored, DevIdentityJson.Default.DictionaryStringStoredKey), ownerOnly: true);
        }
        return new SigningKeys(keys);
    }

    public SigningCredentials CredentialsFor(string issuer) => new(_keys[issuer], SecurityAlgorithms.RsaSha256);

    /// <summary>The public key set in RFC 7517 form, as served at Google's JWKS endpoints.</summary>
    public string PublicJwks(string issuer)
    {
        var parameters = _keys[issuer].Rsa.ExportParameters(includePrivateParameters: false);
        var jwk = new PublicJwk(
            Kty: "RSA",
            Alg: "RS256",
            Use: "sig",
            Kid: _keys[issuer].KeyId,
            N: Base64UrlEncoder.Encode(parameters.Modulus),
            E: Base64UrlEncoder.Encode(parameters.Exponent));
        return JsonSerializer.Serialize(new PublicJwks([jwk]), DevIdentityJson.Default.PublicJwks);
    }
}

public sealed record StoredKey(string KeyId, string PrivateKeyPem);

public sealed record PublicJwk(string Kty, string Alg, string Use, string Kid, string N, string E);

public sealed record PublicJwks(IReadOnlyList<PublicJwk> Keys);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(Dictionary<string, StoredKey>))]
[JsonSerializable(typeof(PublicJwks))]
[JsonSerializable(typeof(FirebaseTokenRequest))]
[JsonSerializable(typeof(AppCheckTokenRequest))]
[JsonSerializable(typeof(OidcTokenRequest))]
[JsonSerializable(typeof(TokenResponse))]
[JsonSerializable(typeof(ErrorBody))]
[JsonSerializable(typeof(Dictionary<string, SeededApiKey>))]
internal sealed partial class DevIdentityJson : JsonSerializerContext;
