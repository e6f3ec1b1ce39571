using System.Globalization;
using System.Net;
using System.Text;

namespace AgentRl.Dashboard;

/// <summary>One line of a chart: a run's values of one metric over steps.</summary>
/// <param name="Name">The legend's label (the run id).</param>
/// <param name="Colour">A CSS colour.</param>
/// <param name="Points">(step, value) in step order.</param>
public sealed record ChartSeries(string Name, string Colour, IReadOnlyList<(double X, double Y)> Points);

/// <summary>
/// Renders line charts as SVG text on the server: axes with rounded ticks, one polyline per series, a dot per point with
/// its value as a tooltip, and a legend. The page needs no charting script (nothing to vendor, works offline).
/// </summary>
public static class SvgLineChart
{
    /// <summary>Okabe–Ito colours (distinguishable with colour-blindness), one per run in the order the runs are listed.</summary>
    public static IReadOnlyList<string> Palette { get; } = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"];

    private const int Left = 52, Right = 12, Top = 28, Bottom = 40;

    /// <summary>The chart's SVG element; with no points, the axes' frame and a "no data" note.</summary>
    public static string Render(string title, IReadOnlyList<ChartSeries> series, int width = 420, int height = 250)
    {
        ArgumentNullException.ThrowIfNull(series);
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{Escape(title)}\">");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"16\" class=\"chart-title\">{Escape(title)}</text>");
        var points = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        int plotWidth = width - Left - Right, plotHeight = height - Top - Bottom;
        svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{Left}\" y=\"{Top}\" width=\"{plotWidth}\" height=\"{plotHeight}\" class=\"chart-frame\"/>");
        if (points.Count == 0)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left + (plotWidth / 2)}\" y=\"{Top + (plotHeight / 2)}\" text-anchor=\"middle\" class=\"chart-empty\">no data yet</text></svg>");
            return svg.ToString();
        }

        var (xMin, xMax) = Range(points.Min(p => p.X), points.Max(p => p.X));
        var (yMin, yMax) = Range(points.Min(p => p.Y), points.Max(p => p.Y));
        var xTicks = Ticks(xMin, xMax, 6, integers: true);
        var yTicks = Ticks(yMin, yMax, 5, integers: false);
        (xMin, xMax) = (Math.Min(xMin, xTicks[0]), Math.Max(xMax, xTicks[^1]));
        (yMin, yMax) = (Math.Min(yMin, yTicks[0]), Math.Max(yMax, yTicks[^1]));
        double X(double x) => Left + ((x - xMin) / (xMax - xMin) * plotWidth);
        double Y(double y) => Top + plotHeight - ((y - yMin) / (yMax - yMin) * plotHeight);

        foreach (var t in yTicks)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" x2=\"{Left + plotWidth}\" y1=\"{F(Y(t))}\" y2=\"{F(Y(t))}\" class=\"chart-grid\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 6}\" y=\"{F(Y(t) + 4)}\" text-anchor=\"end\" class=\"chart-tick\">{Label(t)}</text>");
        }

        foreach (var t in xTicks)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(X(t))}\" y=\"{Top + plotHeight + 16}\" text-anchor=\"middle\" class=\"chart-tick\">{Label(t)}</text>");
        }

        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left + (plotWidth / 2)}\" y=\"{height - 6}\" text-anchor=\"middle\" class=\"chart-axis\">step</text>");
        foreach (var s in series.Where(s => s.Points.Count > 0))
        {
            var line = string.Join(' ', s.Points.Where(p => double.IsFinite(p.Y)).Select(p => $"{F(X(p.X))},{F(Y(p.Y))}"));
            svg.Append(CultureInfo.InvariantCulture, $"<polyline class=\"series\" data-series=\"{Escape(s.Name)}\" fill=\"none\" stroke=\"{Escape(s.Colour)}\" stroke-width=\"2\" points=\"{line}\"/>");
            foreach (var p in s.Points.Where(p => double.IsFinite(p.Y)))
            {
                svg.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{F(X(p.X))}\" cy=\"{F(Y(p.Y))}\" r=\"2.5\" fill=\"{Escape(s.Colour)}\"><title>{Escape(s.Name)} step {Label(p.X)}: {p.Y.ToString("0.####", CultureInfo.InvariantCulture)}</title></circle>");
            }
        }

        var legendX = Left + 8;
        foreach (var s in series)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{legendX}\" y=\"{Top + 6}\" width=\"10\" height=\"10\" fill=\"{Escape(s.Colour)}\"/><text x=\"{legendX + 14}\" y=\"{Top + 15}\" class=\"chart-legend\">{Escape(s.Name)}</text>");
            legendX += 24 + (7 * Math.Min(s.Name.Length, 40));
        }

        svg.Append("</svg>");
        return svg.ToString();
    }

    /// <summary>"Nice" tick values (1, 2 or 5 × 10ⁿ apart) covering [min, max]; whole numbers only when <paramref name="integers"/>.</summary>
    public static IReadOnlyList<double> Ticks(double min, double max, int count, bool integers)
    {
        var span = max - min;
        var raw = span / Math.Max(1, count - 1);
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var step = new[] { 1.0, 2.0, 5.0, 10.0 }.Select(m => m * magnitude).First(s => s >= raw);
        if (integers)
        {
            step = Math.Max(1, Math.Ceiling(step));
        }

        var first = Math.Floor(min / step) * step;
        var ticks = new List<double>();
        for (var t = first; t <= max + (step * 1e-9) && ticks.Count < 50; t += step)
        {
            ticks.Add(Math.Round(t, 10));
        }

        if (ticks[^1] < max)
        {
            ticks.Add(Math.Round(ticks[^1] + step, 10));
        }

        return ticks;
    }

    /// <summary>A range with some height: a flat series gets ±0.5 (or ±5 % of its value) around it.</summary>
    private static (double Min, double Max) Range(double min, double max)
    {
        if (max > min)
        {
            return (min, max);
        }

        var pad = Math.Abs(min) > 1 ? Math.Abs(min) * 0.05 : 0.5;
        return (min - pad, max + pad);
    }

    private static string Label(double value) => value.ToString(Math.Abs(value) >= 100 ? "0" : "0.###", CultureInfo.InvariantCulture);

    private static string F(double value) => value.ToString("0.#", CultureInfo.InvariantCulture);

    private static string Escape(string text) => WebUtility.HtmlEncode(text);
}
