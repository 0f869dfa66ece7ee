namespace Majestix.DevIdentity;

internal static class StateFiles
{
    /// <summary>Write-then-rename so a reader (a shell sourcing the env file) never sees half a file.</summary>
    public static void WriteAtomically(string path, string contents, bool ownerOnly)
    {
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, contents);
        if (ownerOnly && !OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        File.Move(temporary, path, overwrite: true);
    }
}
