namespace Majestix.InferenceApi.Credits;

/// <summary>The credits feature's Lua scripts kept as <c>.lua</c> files, embedded in the assembly.</summary>
internal static class CreditScripts
{
    /// <summary>Grant records' parsing and bookkeeping, shared by the grant and the load scripts.</summary>
    public static readonly string GrantShared = Read("GrantShared.lua");

    public static string Read(string name)
    {
        using var stream = typeof(CreditScripts).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The embedded script {name} is missing.");
        using var reader = new StreamReader(stream);
        return "\n" + reader.ReadToEnd() + "\n";
    }
}
