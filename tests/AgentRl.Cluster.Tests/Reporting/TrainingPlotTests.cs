using System.Buffers.Binary;
using AgentRl.Abstractions.Training;
using AgentRl.Grains.Reporting;
using SkiaSharp;

namespace AgentRl.Cluster.Tests.Reporting;

public sealed class TrainingPlotTests
{
    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    [Fact]
    public void TrainingPlotSave_RewardAndAccuracies_WritesPngOfRequestedSize()
    {
        using var dir = new TempDirectory();
        var path = dir.Combine("plots", TrainingPlot.FileName);
        var plot = Sample("run-a", steps: 40, shift: 0);

        plot.Save(path, 800, 500);

        var png = File.ReadAllBytes(path);
        Assert.Equal(PngSignature, png[..8]);
        Assert.Equal((800, 500), ReadSize(png));
        Assert.True(png.Length > 5_000, $"only {png.Length} bytes: nothing drawn?");
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void TrainingPlotRenderPng_DifferentData_GivesDifferentImages()
    {
        var a = Sample("run", steps: 30, shift: 0).RenderPng(600, 400);
        var same = Sample("run", steps: 30, shift: 0).RenderPng(600, 400);
        var other = Sample("run", steps: 30, shift: 0.2).RenderPng(600, 400);

        Assert.Equal(a, same);
        Assert.NotEqual(a, other);
    }

    [Fact]
    public void TrainingPlotAdd_SameStepTwice_MergesWithNewValuesWinning()
    {
        var twice = new TrainingPlot("t");
        twice.Add(1, 0.1, 0.1, null);
        twice.Add(2, 0.9, 0.2, null);
        twice.Add(2, 0.3, null, 0.5);
        var once = new TrainingPlot("t");
        once.Add(1, 0.1, 0.1, null);
        once.Add(2, 0.3, 0.2, 0.5);

        Assert.Equal(2, twice.Count);
        Assert.Equal(once.RenderPng(400, 300), twice.RenderPng(400, 300));
    }

    [Fact]
    public void TrainingPlotRenderPng_NoOrSinglePoint_StillRenders()
    {
        var empty = new TrainingPlot("empty").RenderPng(300, 200);
        var single = new TrainingPlot("single");
        single.Add(5, double.NaN, 0.5, null);

        Assert.Equal((300, 200), ReadSize(empty));
        Assert.Equal((300, 200), ReadSize(single.RenderPng(300, 200)));
    }

    [Fact]
    public void StepAxis_ThreeStepRun_StartsAtZeroWithIntegerTicks()
    {
        var axis = TrainingPlot.StepAxis(3);

        Assert.Equal(0, axis.Min);
        Assert.Equal(3, axis.Max);
        Assert.Equal([0.0, 1, 2, 3], axis.Ticks);
    }

    [Theory]
    [InlineData(0, 1, 1)]        // a run with only the warm-start row still gets a 0–1 axis
    [InlineData(10, 10, 1)]
    [InlineData(11, 11, 2)]
    [InlineData(25, 25, 5)]
    [InlineData(1000, 1000, 100)]
    [InlineData(1601, 1601, 200)]
    public void StepAxis_AnyLength_AtMostTenIntervalsOfANiceInteger(long last, double max, long interval)
    {
        var axis = TrainingPlot.StepAxis(last);

        Assert.Equal((0.0, max), (axis.Min, axis.Max));
        Assert.Equal(Enumerable.Range(0, (int)(max / interval) + 1).Select(i => (double)(i * interval)), axis.Ticks);
        Assert.True(axis.Ticks.Count <= TrainingPlot.MaxTicks + 1);
    }

    [Fact]
    public void RewardAxis_RewardsWithinUnit_IsTheFixedZeroToOneAxisOfAccuracy()
    {
        var axis = TrainingPlot.RewardAxis([0.3, 0.55, 1.0, double.NaN]);

        Assert.Same(TrainingPlot.AccuracyAxis, axis);
        Assert.Equal((0.0, 1.0), (axis.Min, axis.Max));
    }

    [Theory]
    [InlineData(new[] { 0.3, 1.6 }, 0.0, 1.6)]     // reward weights summing above 1
    [InlineData(new[] { -0.5, 0.4 }, -0.5, 1.0)]    // a penalty below 0
    public void RewardAxis_RewardsOutsideUnit_SpanTheDataWithZeroAndOne(double[] rewards, double min, double max)
    {
        var axis = TrainingPlot.RewardAxis(rewards);

        Assert.Equal((min, max), (axis.Min, axis.Max));
    }

    [Fact]
    public void RunArtifacts_WarmStartBatches_PlotHasALossPanelBelowTheCurves()
    {
        using var dir = new TempDirectory();
        var withLoss = dir.Combine("warm");
        using (var artifacts = new RunArtifacts(withLoss, new RunArtifactsOptions { HostName = "h", PlotWidth = 800, PlotHeight = 600 }))
        {
            artifacts.BeginWarmStart();
            artifacts.RecordWarmStartBatches([.. Enumerable.Range(1, 40).Select(b => new SftBatchRecord(b, 1, 1 + (b / 10), 2.0 / b, 1e-4))]);
            artifacts.RecordStep(0, new Dictionary<string, double> { ["eval/accuracy"] = 0.25 });
            artifacts.RecordStep(1, new Dictionary<string, double> { ["rollout/reward_mean"] = 0.5, ["rollout/accuracy"] = 0.4 });
            artifacts.RecordStep(2, new Dictionary<string, double> { ["rollout/reward_mean"] = 0.7, ["rollout/accuracy"] = 0.6 });
        }
        var without = dir.Combine("plain");
        using (var artifacts = new RunArtifacts(without, new RunArtifactsOptions { HostName = "h", PlotWidth = 800, PlotHeight = 600 }))
        {
            artifacts.RecordStep(0, new Dictionary<string, double> { ["eval/accuracy"] = 0.25 });
        }

        Assert.Equal(40, SftLogWriter.Read(Path.Combine(withLoss, SftLogWriter.FileName)).Count);
        var png = File.ReadAllBytes(Path.Combine(withLoss, TrainingPlot.FileName));
        var top = 600 * (1 - TrainingPlot.LossPanelShare);
        var lossRows = RowsWithColour(png, TrainingPlot.LossColor);
        Assert.NotEmpty(lossRows);
        Assert.True(lossRows.Min() >= top - 1, $"loss drawn from row {lossRows.Min()}");
        var rewardRows = RowsWithColour(png, ScottPlot.Colors.C0);   // the reward curve, in the panel above
        Assert.NotEmpty(rewardRows);
        Assert.True(rewardRows.Max() < top, $"reward drawn down to row {rewardRows.Max()}");
        Assert.Empty(RowsWithColour(File.ReadAllBytes(Path.Combine(without, TrainingPlot.FileName)), TrainingPlot.LossColor));

        // A resumed run reads sft.csv back: its plot keeps the panel.
        using (var resumed = new RunArtifacts(withLoss, new RunArtifactsOptions { HostName = "h", PlotWidth = 800, PlotHeight = 600 }))
        {
            resumed.RenderPlot();
        }
        Assert.NotEmpty(RowsWithColour(File.ReadAllBytes(Path.Combine(withLoss, TrainingPlot.FileName)), TrainingPlot.LossColor));
    }

    /// <summary>Image rows holding pixels of a series' colour.</summary>
    private static List<int> RowsWithColour(byte[] png, ScottPlot.Color colour)
    {
        using var bitmap = SKBitmap.Decode(png);
        var rows = new List<int>();
        for (var y = 0; y < bitmap.Height; y++)
        {
            for (var x = 0; x < bitmap.Width; x++)
            {
                var p = bitmap.GetPixel(x, y);
                if (Math.Abs(p.Red - colour.R) + Math.Abs(p.Green - colour.G) + Math.Abs(p.Blue - colour.B) < 12)
                {
                    rows.Add(y);
                    break;
                }
            }
        }
        return rows;
    }

    internal static (int Width, int Height) ReadSize(byte[] png)
    {
        Assert.Equal(PngSignature, png[..8]);
        Assert.Equal("IHDR"u8.ToArray(), png[12..16]);
        return (BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
    }

    private static TrainingPlot Sample(string title, int steps, double shift)
    {
        var plot = new TrainingPlot(title);
        for (var step = 1; step <= steps; step++)
        {
            var progress = (double)step / steps;
            double? eval = step % 5 == 0 ? 0.2 + 0.6 * progress - shift / 2 : null;
            plot.Add(step, -0.5 + 1.5 * progress + shift + 0.1 * Math.Sin(step), 0.1 + 0.7 * progress * progress, eval);
        }
        return plot;
    }
}
