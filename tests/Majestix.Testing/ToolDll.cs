using System.Reflection;

namespace Majestix.Testing;

/// <summary>
/// The dll of a tool in <c>tools/</c> that a test project builds through a <c>ReferenceOutputAssembly="false"</c>
/// reference and starts as a real process: next to the test's output, in an artifacts layout
/// (<c>bin/&lt;Tool&gt;/&lt;config&gt;</c>), or in the tool's own <c>bin/&lt;Config&gt;/net10.0</c>.
/// </summary>
public static class ToolDll
{
    public static string Locate(string toolName, Assembly testAssembly)
    {
        var dllName = toolName + ".dll";
        var baseDirectory = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar);
        var configuration = testAssembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var candidates = new List<string>
        {
            Path.Combine(baseDirectory, dllName),
            Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(baseDirectory)!)!, toolName, Path.GetFileName(baseDirectory), dllName),
        };
        for (var directory = new DirectoryInfo(baseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Majestix.sln")))
            {
                candidates.Add(Path.Combine(directory.FullName, "tools", toolName, "bin", configuration, "net10.0", dllName));
                break;
            }
        }
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException($"{dllName} not found; looked in: {string.Join(", ", candidates)}");
    }
}
