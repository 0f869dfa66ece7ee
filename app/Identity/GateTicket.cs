using Majestix.InferenceApi.Credits;

namespace Majestix.InferenceApi.Identity;

/// <summary>
/// Marks an endpoint whose API-key callers may have their gate finished by the endpoint itself, so that the
/// credits for the call are held in the gate's Redis trip (<see cref="GateTicket.ResolveWithHoldAsync"/>).
/// </summary>
internal sealed record HoldsInGate
{
    public static HoldsInGate Instance { get; } = new();
}

/// <summary>
/// The caller of a <see cref="HoldsInGate"/> endpoint: known when <see cref="CallerGate"/> resolved it, or
/// pending when it left an API key's gate to the endpoint (only for keys this process verified within the
/// last minute, so a stranger's body is never read before its key is checked). A pending request is not
/// authenticated: the endpoint may read and check its body, and must resolve the ticket before it answers
/// or does anything for the caller.
/// </summary>
internal sealed class GateTicket
{
    private readonly Func<HoldRequest?, Task<(CallerContext? Caller, ReserveResult? Hold)>>? _pending;
    private bool _resolved;

    public GateTicket(CallerContext caller) => Caller = caller;

    public GateTicket(Func<HoldRequest?, Task<(CallerContext? Caller, ReserveResult? Hold)>> pending) => _pending = pending;

    /// <summary>The caller once known; null while the gate is pending or after it refused (and answered).</summary>
    public CallerContext? Caller { get; private set; }

    public bool IsPending => _pending is not null && !_resolved;

    /// <summary>Finishes the gate if it is pending; null when it refused the request and wrote the answer.</summary>
    public async Task<CallerContext?> ResolveAsync() => IsPending ? (await CompleteAsync(null)).Caller : Caller;

    /// <summary>
    /// Finishes a pending gate, holding <paramref name="hold"/>'s credits in its trip when the key's owner is
    /// admitted with one of the hold's plans. The hold comes back null when none was taken (another plan,
    /// a balance not loaded yet, Redis not enforcing); a hold taken for a request the gate then refused is
    /// the caller's to release. Not pending: the known caller, nothing held.
    /// </summary>
    public async Task<(CallerContext? Caller, ReserveResult? Hold)> ResolveWithHoldAsync(HoldRequest hold) =>
        IsPending ? await CompleteAsync(hold) : (Caller, null);

    private async Task<(CallerContext? Caller, ReserveResult? Hold)> CompleteAsync(HoldRequest? hold)
    {
        _resolved = true;
        var result = await _pending!(hold);
        Caller = result.Caller;
        return result;
    }

    /// <summary>Lets handlers take the ticket as a parameter.</summary>
    public static ValueTask<GateTicket?> BindAsync(HttpContext context) =>
        ValueTask.FromResult(context.Features.Get<GateTicket>() ?? (context.Features.Get<CallerContext>() is { } caller ? new GateTicket(caller) : null));
}
