using ScottPlot;

namespace AgentRl.Grains.Reporting;

/// <summary>
/// The run's learning curves as a PNG (ScottPlot): mean reward on the left axis, train and eval
/// accuracy on the right axis (0–1), over steps. Steps may arrive in any order; a step added again
/// merges (its new non-null values win); a missing or non-finite value leaves a gap in that series only.
/// </summary>
public sealed class TrainingPlot
{
    public const string FileName = "training.png";
    public const int DefaultWidth = 1000;
    public const int DefaultHeight = 600;
    private const string What = "training plot";

    private readonly SortedDictionary<long, Point> _points = [];

    /// <param name="title">Plot title, for example the run's name.</param>
    public TrainingPlot(string title = "Training")
    {
        Title = title;
    }

    public string Title { get; }

    /// <summary>Number of steps with at least one value.</summary>
    public int Count => _points.Count;

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

    /// <summary>Renders the plot to PNG bytes.</summary>
    public byte[] RenderPng(int width = DefaultWidth, int height = DefaultHeight)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 100);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 100);

        var plot = new Plot();
        plot.Title(Title);
        plot.XLabel("step");
        plot.Axes.Left.Label.Text = "reward (mean)";
        plot.Axes.Right.Label.Text = "accuracy";

        var reward = AddSeries(plot, "reward mean (left axis)", p => p.RewardMean, Colors.C0, plot.Axes.Left, markers: false);
        var accuracy = AddSeries(plot, "train accuracy (right axis)", p => p.Accuracy, Colors.C1, plot.Axes.Right, markers: false);
        var eval = AddSeries(plot, "eval accuracy (right axis)", p => p.EvalAccuracy, Colors.C2, plot.Axes.Right, markers: true);

        plot.Axes.AutoScale();
        plot.Axes.SetLimitsY(-0.02, 1.02, plot.Axes.Right);
        if (!reward)
        {
            plot.Axes.SetLimitsY(0, 1, plot.Axes.Left);
        }
        if (_points.Count <= 1)
        {
            var step = _points.Count == 1 ? _points.Keys.First() : 0;
            plot.Axes.SetLimitsX(step - 1, step + 1);
        }
        if (reward || accuracy || eval)
        {
            plot.Legend.Alignment = Alignment.UpperLeft;
            plot.ShowLegend();
        }
        return plot.GetImageBytes(width, height, ImageFormat.Png);
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

    private bool AddSeries(Plot plot, string label, Func<Point, double?> select, Color color, IYAxis axis, bool markers)
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
        if (xs.Count == 0)
        {
            return false;
        }
        var scatter = plot.Add.Scatter(xs.ToArray(), ys.ToArray(), color);
        scatter.LegendText = label;
        scatter.LineWidth = 2;
        scatter.MarkerSize = markers || xs.Count == 1 ? 6 : 0;
        scatter.Axes.YAxis = axis;
        return true;
    }

    private readonly record struct Point(double? RewardMean, double? Accuracy, double? EvalAccuracy);
}
