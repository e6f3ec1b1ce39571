using ScottPlot;
using SkiaSharp;

namespace AgentRl.Grains.Reporting;

/// <summary>
/// The run's learning curves as a PNG (ScottPlot). The top panel shows mean reward (left axis) and train and eval
/// accuracy (right axis, fixed 0–1) over steps; the reward axis is 0–1 too unless a reward falls outside it (a task whose
/// reward weights sum above 1), and then spans the data with 0 included (<see cref="RewardAxis"/>). Steps start at 0 on
/// the x axis and are ticked at integers (<see cref="StepAxis"/>). When warm-start losses were added
/// (<see cref="SetWarmStartLoss"/>, the rows of <c>sft.csv</c>), a second panel below shows the loss per SFT batch.
/// Steps may arrive in any order; a step added again merges (its new non-null values win); a missing or non-finite value
/// leaves a gap in that series only.
/// </summary>
public sealed class TrainingPlot
{
    public const string FileName = "training.png";
    public const int DefaultWidth = 1000;
    public const int DefaultHeight = 600;

    /// <summary>Share of the image height the loss panel takes when there is one.</summary>
    public const double LossPanelShare = 0.35;

    /// <summary>Colour of the warm-start loss series (the reward and accuracies use ScottPlot's C0–C2).</summary>
    public static readonly Color LossColor = Colors.C3;

    /// <summary>Most ticks an integer axis gets.</summary>
    public const int MaxTicks = 10;

    private const string What = "training plot";

    /// <summary>Margin drawn around a bounded 0–1 axis so that a series at 0 or 1 is not hidden by the frame.</summary>
    private const double BoundedMargin = 0.02;

    private readonly SortedDictionary<long, Point> _points = [];
    private (double Batch, double Loss)[] _loss = [];
    private (double[] Xs, double[] Ys) _baseline = ([], []);

    /// <param name="title">Plot title, for example the run's name.</param>
    public TrainingPlot(string title = "Training")
    {
        Title = title;
    }

    public string Title { get; }

    /// <summary>Number of steps with at least one value.</summary>
    public int Count => _points.Count;

    /// <summary>Whether the image has the warm-start loss panel: some finite loss was set.</summary>
    public bool HasLossPanel => _loss.Length > 0;

    /// <summary>Adds the values of one step (merged into values already there); nulls leave gaps.</summary>
    public void Add(long step, double? rewardMean, double? accuracy, double? evalAccuracy)
    {
        if (rewardMean is null && accuracy is null && evalAccuracy is null)
        {
            return;
        }
        _points[step] = _points.TryGetValue(step, out var old)
            ? new Point(rewardMean ?? old.RewardMean, accuracy ?? old.Accuracy, evalAccuracy ?? old.EvalAccuracy)
            : new Point(rewardMean, accuracy, evalAccuracy);
    }

    /// <summary>
    /// The equal-time SFT baseline as a second eval curve: from the warm start's eval accuracy at step 0 to the baseline's
    /// at <paramref name="lastStep"/> (it trained for the wall time of steps 1 … lastStep).
    /// </summary>
    public void SetBaseline(long lastStep, double warmStartAccuracy, double baselineAccuracy) =>
        _baseline = ([0, lastStep], [warmStartAccuracy, baselineAccuracy]);

    /// <summary>Replaces the warm-start loss curve (batch, loss); non-finite losses are left out, none removes the panel.</summary>
    public void SetWarmStartLoss(IEnumerable<(int Batch, double Loss)> batches)
    {
        ArgumentNullException.ThrowIfNull(batches);
        _loss = [.. batches.Where(b => double.IsFinite(b.Loss)).OrderBy(b => b.Batch).Select(b => ((double)b.Batch, b.Loss))];
    }

    /// <summary>An axis range and its major ticks.</summary>
    /// <param name="Min">Lower limit.</param>
    /// <param name="Max">Upper limit.</param>
    /// <param name="Ticks">Tick positions, ascending, within the limits.</param>
    public sealed record Axis(double Min, double Max, IReadOnlyList<double> Ticks);

    /// <summary>
    /// An axis of steps (or batches) 0..<paramref name="last"/>: it starts at 0, ends at the last step (at least 1), and is
    /// ticked at multiples of the smallest of 1, 2, 5, 10, 20, 50… that gives at most <paramref name="maxTicks"/> intervals.
    /// A 3-step run gives 0, 1, 2, 3.
    /// </summary>
    public static Axis StepAxis(long last, int maxTicks = MaxTicks)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTicks, 1);
        var max = Math.Max(1, last);
        long interval = 1;
        for (long decade = 1; ; decade *= 10)
        {
            var found = new[] { 1L, 2L, 5L }.Select(m => m * decade).FirstOrDefault(n => (max + n - 1) / n <= maxTicks);
            if (found > 0)
            {
                interval = found;
                break;
            }
        }
        var ticks = new List<double>();
        for (long t = 0; t <= max; t += interval)
        {
            ticks.Add(t);
        }
        return new Axis(0, max, ticks);
    }

    /// <summary>The accuracy axis: fixed 0–1, ticked every 0.2.</summary>
    public static Axis AccuracyAxis { get; } = new(0, 1, [0, 0.2, 0.4, 0.6, 0.8, 1.0]);

    /// <summary>
    /// The reward axis: <see cref="AccuracyAxis"/> (0–1) when every reward is within [0, 1] (the bundled tasks' default
    /// weights sum to 1), otherwise from min(0, lowest) to max(1, highest) with automatic ticks (none listed).
    /// </summary>
    public static Axis RewardAxis(IEnumerable<double> rewards)
    {
        ArgumentNullException.ThrowIfNull(rewards);
        var finite = rewards.Where(double.IsFinite).ToList();
        if (finite.All(r => r is >= 0 and <= 1))
        {
            return AccuracyAxis;
        }
        return new Axis(Math.Min(0, finite.Min()), Math.Max(1, finite.Max()), []);
    }

    /// <summary>The loss axis: from 0 to the highest loss (plus 5 %), automatic ticks.</summary>
    public static Axis LossAxis(IEnumerable<double> losses)
    {
        ArgumentNullException.ThrowIfNull(losses);
        var highest = losses.Where(double.IsFinite).DefaultIfEmpty(1).Max();
        return new Axis(0, highest > 0 ? highest * 1.05 : 1, []);
    }

    /// <summary>Renders the plot to PNG bytes.</summary>
    public byte[] RenderPng(int width = DefaultWidth, int height = DefaultHeight)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 100);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 100);

        var curves = CurvesPlot();
        if (!HasLossPanel)
        {
            return curves.GetImageBytes(width, height, ImageFormat.Png);
        }

        // Each panel is rendered on its own surface (a plot clears the canvas it draws on), then both are stacked.
        var lossHeight = (int)Math.Round(height * LossPanelShare);
        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        DrawPanel(surface.Canvas, curves, width, height - lossHeight, 0);
        DrawPanel(surface.Canvas, LossPlot(), width, lossHeight, height - lossHeight);
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    /// <summary>Renders and writes the PNG; the file is replaced whole (written beside it, then moved).</summary>
    /// <exception cref="ArtifactWriteException">The file could not be written.</exception>
    public void Save(string path, int width = DefaultWidth, int height = DefaultHeight)
    {
        var png = RenderPng(width, height);
        var full = Path.GetFullPath(path);
        var temporary = full + ".tmp";
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllBytes(temporary, png);
            File.Move(temporary, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArtifactWriteException(full, What, e);
        }
    }

    private static void DrawPanel(SKCanvas canvas, Plot plot, int width, int height, int top)
    {
        using var panel = SKSurface.Create(new SKImageInfo(width, height));
        plot.Render(panel.Canvas, width, height);
        using var image = panel.Snapshot();
        canvas.DrawImage(image, 0, top);
    }

    private Plot CurvesPlot()
    {
        var plot = new Plot();
        plot.Title(Title);
        plot.XLabel("step");
        plot.Axes.Left.Label.Text = "reward (mean)";
        plot.Axes.Right.Label.Text = "accuracy";

        var reward = AddSeries(plot, Series(p => p.RewardMean), "reward mean (left axis)", Colors.C0, plot.Axes.Left, markers: false);
        var accuracy = AddSeries(plot, Series(p => p.Accuracy), "train accuracy (right axis)", Colors.C1, plot.Axes.Right, markers: false);
        var eval = AddSeries(plot, Series(p => p.EvalAccuracy), "eval accuracy (right axis)", Colors.C2, plot.Axes.Right, markers: true);
        eval |= AddSeries(plot, _baseline, "eval accuracy, warm start + SFT for the same wall time (right axis)", Colors.C4, plot.Axes.Right, markers: true);

        ApplyX(plot, StepAxis(_points.Count == 0 ? 0 : _points.Keys.Last()));
        ApplyY(plot, plot.Axes.Right, AccuracyAxis);
        ApplyY(plot, plot.Axes.Left, RewardAxis(_points.Values.Select(p => p.RewardMean ?? double.NaN)));
        if (reward || accuracy || eval)
        {
            plot.Legend.Alignment = Alignment.UpperLeft;
            plot.ShowLegend();
        }
        return plot;
    }

    private Plot LossPlot()
    {
        var plot = new Plot();
        plot.XLabel("warm-start batch");
        plot.Axes.Left.Label.Text = "SFT loss (nats)";
        var scatter = plot.Add.Scatter(_loss.Select(l => l.Batch).ToArray(), _loss.Select(l => l.Loss).ToArray(), LossColor);
        scatter.LegendText = "warm-start loss";
        scatter.LineWidth = 2;
        scatter.MarkerSize = _loss.Length == 1 ? 6 : 0;
        ApplyX(plot, StepAxis((long)_loss[^1].Batch));
        ApplyY(plot, plot.Axes.Left, LossAxis(_loss.Select(l => l.Loss)));
        plot.Legend.Alignment = Alignment.UpperRight;
        plot.ShowLegend();
        return plot;
    }

    private static void ApplyX(Plot plot, Axis axis)
    {
        plot.Axes.SetLimitsX(axis.Min, axis.Max);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [.. axis.Ticks], [.. axis.Ticks.Select(t => t.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
    }

    private static void ApplyY(Plot plot, IYAxis yAxis, Axis axis)
    {
        if (axis.Ticks.Count > 0)
        {
            var margin = (axis.Max - axis.Min) * BoundedMargin;
            plot.Axes.SetLimitsY(axis.Min - margin, axis.Max + margin, yAxis);
            yAxis.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
                [.. axis.Ticks], [.. axis.Ticks.Select(t => t.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture))]);
        }
        else
        {
            plot.Axes.SetLimitsY(axis.Min, axis.Max, yAxis);
        }
    }

    private (double[] Xs, double[] Ys) Series(Func<Point, double?> select)
    {
        var xs = new List<double>();
        var ys = new List<double>();
        foreach (var (step, point) in _points)
        {
            if (select(point) is { } y && double.IsFinite(y))
            {
                xs.Add(step);
                ys.Add(y);
            }
        }
        return (xs.ToArray(), ys.ToArray());
    }

    private static bool AddSeries(Plot plot, (double[] Xs, double[] Ys) series, string label, Color color, IYAxis axis, bool markers)
    {
        if (series.Xs.Length == 0)
        {
            return false;
        }
        var scatter = plot.Add.Scatter(series.Xs, series.Ys, color);
        scatter.LegendText = label;
        scatter.LineWidth = 2;
        scatter.MarkerSize = markers || series.Xs.Length == 1 ? 6 : 0;
        scatter.Axes.YAxis = axis;
        return true;
    }

    private readonly record struct Point(double? RewardMean, double? Accuracy, double? EvalAccuracy);
}
