using System.Buffers.Binary;
using AgentRl.Grains.Reporting;

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
