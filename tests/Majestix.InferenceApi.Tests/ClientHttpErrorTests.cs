using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Majestix.InferenceApi.Tests;

/// <summary>
/// A request the client got wrong at the HTTP level (here a body over Kestrel's 30 MB limit; also a body cut off
/// short of its Content-Length) is answered 4xx by the error handling and is not recorded as a failure of ours.
/// The exception handler's diagnostics (the ERROR log line and the <c>error.type</c> tag on the request metric,
/// which go together) would page whoever watches the error rate; the tag is what is checked here. Real
/// Kestrel on loopback: the limit is Kestrel's.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class ClientHttpErrorTests(PlatformFixture platform)
{
    [Fact]
    public async Task ABodyOverTheSizeLimitIs413AndNotRecordedAsAServerFailure()
    {
        await using var app = new InferenceApiApplication(platform);
        app.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        app.StartServer();
        var (_, apiKey) = await app.SeedKeyAsync("too-large");
        using var http = app.CreateClient();
        var recorded = new TaskCompletionSource<Dictionary<string, object?>>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument is { Name: "http.server.request.duration", Meter.Name: "Microsoft.AspNetCore.Hosting" })
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
        {
            var values = new Dictionary<string, object?>();
            foreach (var tag in tags)
            {
                values[tag.Key] = tag.Value;
            }
            if (values.GetValueOrDefault("http.route") as string == "/v1/chat/completions")
            {
                recorded.TrySetResult(values);
            }
        });
        listener.Start();

        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, http.BaseAddress!.Port));
        // Kestrel refuses on the declared length, before any of the body has to arrive.
        var head = "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
            $"X-Api-Key: {apiKey}\r\nContent-Length: 31000000\r\n\r\n{{\"model\": ";
        await socket.SendAsync(Encoding.ASCII.GetBytes(head), SocketFlags.None);
        var buffer = new byte[4096];
        var read = await socket.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(10));
        var answer = Encoding.ASCII.GetString(buffer, 0, read);

        answer.ShouldStartWith("HTTP/1.1 413");
        answer.ShouldContain("Request body too large.");
        var measurement = await recorded.Task.WaitAsync(TimeSpan.FromSeconds(10));
        measurement["http.response.status_code"].ShouldBe(413);
        measurement.ShouldNotContainKey("error.type");
    }
}
