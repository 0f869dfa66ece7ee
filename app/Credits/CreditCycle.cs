namespace Majestix.InferenceApi.Credits;

/// <summary>
/// One plan cycle. Cycle 0 runs from the anchor (sign-up, or the paid cycle's start) to the stored end;
/// cycle k ≥ 1 is [anchor + k months, anchor + k+1 months), day clamped to the month as AddMonths does.
/// The reserve script computes the same boundaries in Lua; both count from the anchor, never from the
/// previous boundary, so a 31st does not drift to the 28th for good after February.
/// </summary>
internal readonly record struct CreditCycle(int Index, DateTimeOffset Start, DateTimeOffset End)
{
    public static CreditCycle Containing(DateTimeOffset anchor, DateTimeOffset firstEnd, DateTimeOffset now)
    {
        anchor = ToMilliseconds(anchor);
        firstEnd = ToMilliseconds(firstEnd);
        if (now < firstEnd)
        {
            return new CreditCycle(0, anchor, firstEnd);
        }
        for (var index = 1; ; index++)
        {
            var end = anchor.AddMonths(index + 1);
            if (now < end)
            {
                return new CreditCycle(index, anchor.AddMonths(index), end);
            }
        }
    }

    // Redis and Lua keep milliseconds; both sides must compute from the same instant.
    public static DateTimeOffset ToMilliseconds(DateTimeOffset value) =>
        DateTimeOffset.FromUnixTimeMilliseconds(value.ToUnixTimeMilliseconds());
}
