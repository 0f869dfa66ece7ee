using System.Globalization;
using System.Text;

namespace Majestix.Bench;

/// <summary>
/// An SVG of latency per target and concurrency: bars are p50, whiskers reach p99, on a log scale
/// (the direct mock answers in tenths of a millisecond, a loaded gateway in tens).
/// </summary>
internal static class LatencyChart
{
    private const int PanelWidth = 460;
    private const int PanelHeight = 300;
    private const int Left = 60;
    private const int Top = 50;
    private const int Bottom = 60;
    private static readonly string[] Colours = ["#7f8c8d", "#e67e22", "#2471a3"];
    private static readonly double[] Ticks = [0.1, 1, 10, 100, 1000];

    public static string Render(LoadRunSet runs, IReadOnlyList<Target> targets, IReadOnlyList<int> levels, string title)
    {
        var width = Left + (2 * PanelWidth) + 40;
        var height = Top + PanelHeight + Bottom + 30;
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">""").Append('\n');
        svg.Append(CultureInfo.InvariantCulture, $"""<rect width="{width}" height="{height}" fill="white"/><text x="{Left}" y="22" font-size="15" font-weight="bold">{Escape(title)}</text>""").Append('\n');
        for (var panel = 0; panel < 2; panel++)
        {
            var stream = panel == 1;
            var x0 = Left + (panel * (PanelWidth + 20));
            Panel(svg, runs, targets, levels, stream, x0);
        }
        var legendY = Top + PanelHeight + 45;
        for (var i = 0; i < targets.Count; i++)
        {
            var x = Left + (i * 200);
            svg.Append(CultureInfo.InvariantCulture, $"""<rect x="{x}" y="{legendY - 10}" width="12" height="12" fill="{Colours[i]}"/><text x="{x + 18}" y="{legendY}">{Escape(targets[i].Name)}</text>""").Append('\n');
        }
        svg.Append(CultureInfo.InvariantCulture, $"""<text x="{Left + 600}" y="{legendY}" fill="#555">bar = p50, whisker = p99 (ms, log scale)</text>""").Append('\n');
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static void Panel(StringBuilder svg, LoadRunSet runs, IReadOnlyList<Target> targets, IReadOnlyList<int> levels, bool stream, int x0)
    {
        var plotWidth = PanelWidth - 20;
        svg.Append(CultureInfo.InvariantCulture, $"""<text x="{x0}" y="{Top - 12}" font-weight="bold">{(stream ? "streaming (whole stream)" : "non-streaming")}</text>""").Append('\n');
        foreach (var tick in Ticks)
        {
            var y = Y(tick);
            svg.Append(CultureInfo.InvariantCulture, $"""<line x1="{x0}" x2="{x0 + plotWidth}" y1="{y:F1}" y2="{y:F1}" stroke="#ddd"/><text x="{x0 - 6}" y="{y + 4:F1}" text-anchor="end">{tick.ToString(CultureInfo.InvariantCulture)}</text>""").Append('\n');
        }
        var groupWidth = plotWidth / (double)levels.Count;
        var barWidth = groupWidth / (targets.Count + 1);
        for (var g = 0; g < levels.Count; g++)
        {
            var groupX = x0 + (g * groupWidth);
            svg.Append(CultureInfo.InvariantCulture, $"""<text x="{groupX + (groupWidth / 2):F1}" y="{Top + PanelHeight + 18}" text-anchor="middle">c = {levels[g]}</text>""").Append('\n');
            for (var t = 0; t < targets.Count; t++)
            {
                var run = runs.Find(targets[t].Name, stream, levels[g]);
                var p50 = run.Result.P50 / 1000.0;
                var p99 = run.Result.P99 / 1000.0;
                var x = groupX + (barWidth / 2) + (t * barWidth);
                var yTop = Y(p50);
                svg.Append(CultureInfo.InvariantCulture, $"""<rect x="{x:F1}" y="{yTop:F1}" width="{barWidth - 3:F1}" height="{Top + PanelHeight - yTop:F1}" fill="{Colours[t]}"><title>{Escape(targets[t].Name)} c={levels[g]}: p50 {p50:F2} ms, p99 {p99:F2} ms</title></rect>""").Append('\n');
                var mid = x + ((barWidth - 3) / 2);
                svg.Append(CultureInfo.InvariantCulture, $"""<line x1="{mid:F1}" x2="{mid:F1}" y1="{yTop:F1}" y2="{Y(p99):F1}" stroke="black"/><line x1="{mid - 4:F1}" x2="{mid + 4:F1}" y1="{Y(p99):F1}" y2="{Y(p99):F1}" stroke="black"/>""").Append('\n');
            }
        }
        svg.Append(CultureInfo.InvariantCulture, $"""<line x1="{x0}" x2="{x0}" y1="{Top}" y2="{Top + PanelHeight}" stroke="black"/>""").Append('\n');
    }

    // 0.05 ms at the axis, 2000 ms at the top.
    private static double Y(double milliseconds)
    {
        var clamped = Math.Clamp(milliseconds, 0.05, 2000);
        var fraction = (Math.Log10(clamped) - Math.Log10(0.05)) / (Math.Log10(2000) - Math.Log10(0.05));
        return Top + PanelHeight - (fraction * PanelHeight);
    }

    private static string Escape(string text) => text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal);
}
