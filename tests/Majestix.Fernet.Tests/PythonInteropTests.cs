using System.Diagnostics;
using System.Text;

namespace Majestix.Fernet.Tests;

/// <summary>
/// Round trips against Python's <c>cryptography</c> package, the reference implementation the Python services use.
/// These fail rather than skip when it is missing: <c>make test</c> installs python3-cryptography.
/// </summary>
public class PythonInteropTests
{
    private const string Python = "/usr/bin/python3";

    // Arguments arrive as base64 so arbitrary bytes survive the command line; outputs are printed as base64 too.
    private const string Prelude = """
        import base64, sys
        from cryptography.fernet import Fernet, MultiFernet
        arg = lambda i: base64.b64decode(sys.argv[i])
        out = lambda b: print(base64.b64encode(b).decode())
        """;

    private static readonly byte[] Plaintext = Encoding.UTF8.GetBytes("chat history 🚀 héllo\0\n" + new string('x', 1000));

    [Fact]
    public async Task PythonDecryptsTokensThisLibraryProduces()
    {
        var key = FernetKey.Generate();
        var token = new FernetKeyRing(key).Encrypt(Plaintext);

        var output = await RunPython(
            "out(Fernet(sys.argv[1]).decrypt(sys.argv[2], ttl=3600))",
            key.ToBase64UrlString(),
            token);

        Convert.FromBase64String(output).ShouldBe(Plaintext);
    }

    [Fact]
    public async Task ThisLibraryDecryptsTokensPythonProduces()
    {
        var key = FernetKey.Generate();

        var token = await RunPython("print(Fernet(sys.argv[1]).encrypt(arg(2)).decode())", key.ToBase64UrlString(), B64(Plaintext));

        new FernetKeyRing(key).Decrypt(token, TimeSpan.FromHours(1)).ShouldBe(Plaintext);
    }

    [Fact]
    public async Task PythonKeysAndTimestampsAreUnderstood()
    {
        const long timestamp = 1_800_000_000;
        var output = await RunPython(
            """
            key = Fernet.generate_key()
            print(key.decode())
            print(Fernet(key).encrypt_at_time(arg(1), int(sys.argv[2])).decode())
            """,
            B64(Plaintext),
            timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var lines = output.Split('\n');

        var clock = new FixedTimeProvider(DateTimeOffset.FromUnixTimeSeconds(timestamp + 30));
        var ring = FernetKeyRing.Parse(lines[0], clock);

        ring.ExtractTimestamp(lines[1]).ToUnixTimeSeconds().ShouldBe(timestamp);
        ring.Decrypt(lines[1], TimeSpan.FromSeconds(30)).ShouldBe(Plaintext);
        Should.Throw<FernetException>(() => ring.Decrypt(lines[1], TimeSpan.FromSeconds(29)));
    }

    [Fact]
    public async Task KeyRotationInteroperatesWithMultiFernet()
    {
        var oldKey = FernetKey.Generate();
        var newKey = FernetKey.Generate();
        var fernetKeys = $"{newKey.ToBase64UrlString()},{oldKey.ToBase64UrlString()}";
        var ring = FernetKeyRing.Parse(fernetKeys);
        var dotnetOldToken = new FernetKeyRing(oldKey).Encrypt(Plaintext);

        // Python: a token under the old key, MultiFernet's own token, and MultiFernet.rotate of our old-key token.
        var output = await RunPython(
            """
            keys = sys.argv[1].split(",")
            multi = MultiFernet([Fernet(k) for k in keys])
            print(Fernet(keys[1]).encrypt(arg(2)).decode())
            print(multi.encrypt(arg(2)).decode())
            print(multi.rotate(sys.argv[3]).decode())
            """,
            fernetKeys,
            B64(Plaintext),
            dotnetOldToken);
        var lines = output.Split('\n');

        ring.Decrypt(lines[0]).ShouldBe(Plaintext);
        var newOnly = new FernetKeyRing(newKey);
        newOnly.Decrypt(lines[1]).ShouldBe(Plaintext);
        newOnly.Decrypt(lines[2]).ShouldBe(Plaintext);
        newOnly.ExtractTimestamp(lines[2]).ShouldBe(ring.ExtractTimestamp(dotnetOldToken));

        // And the other way: our rotation of Python's old-key token must open with Python's new key alone.
        var rotated = ring.Rotate(lines[0]);
        var check = await RunPython(
            """
            fernet = Fernet(sys.argv[1])
            out(fernet.decrypt(sys.argv[2]))
            print(fernet.extract_timestamp(sys.argv[2]) == Fernet(sys.argv[3]).extract_timestamp(sys.argv[4]))
            """,
            newKey.ToBase64UrlString(),
            rotated,
            oldKey.ToBase64UrlString(),
            lines[0]);
        var checkLines = check.Split('\n');

        Convert.FromBase64String(checkLines[0]).ShouldBe(Plaintext);
        checkLines[1].ShouldBe("True");
    }

    [Fact]
    public async Task PythonRejectsTokensTamperedAfterThisLibraryProducedThem()
    {
        var key = FernetKey.Generate();
        var data = TokenForge.Decode(new FernetKeyRing(key).Encrypt(Plaintext));
        data[40] ^= 1;

        var output = await RunPython(
            """
            from cryptography.fernet import InvalidToken
            try:
                Fernet(sys.argv[1]).decrypt(sys.argv[2])
                print("accepted")
            except InvalidToken:
                print("rejected")
            """,
            key.ToBase64UrlString(),
            TokenForge.Encode(data));

        output.ShouldBe("rejected");
    }

    private static string B64(byte[] data) => Convert.ToBase64String(data);

    private static async Task<string> RunPython(string script, params string[] args)
    {
        var start = new ProcessStartInfo(Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(Prelude + "\n" + script);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)
            ?? throw new InvalidOperationException($"Could not start {Python}.");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);

        process.ExitCode.ShouldBe(
            0,
            $"{Python} failed (is the python3-cryptography apt package installed?):\n{await stderr}");
        return (await stdout).TrimEnd('\n');
    }
}
