using System.Globalization;
using AgentRl.Grains.Reporting;
using AgentRl.Pipeline.Metrics;

namespace AgentRl.Cluster.Tests.Reporting;

public sealed class MetricsCsvWriterTests
{
    private const string FixedHeader =
        "step,reward_mean,accuracy,eval_accuracy,tool_calls_per_traj,entropy,policy_version,branches_per_prompt,tool_calls_per_solved";

    [Fact]
    public void MetricsCsvWriter_NewFile_WritesFixedHeaderThenRowsWithEmptyCellsForMissing()
    {
        using var dir = new TempDirectory();
        var path = dir.Combine("run", "metrics.csv");
        using var writer = new MetricsCsvWriter(path);

        writer.Append(1, new Dictionary<string, double>
        {
            [MetricColumns.RewardMean] = 0.5,
            [MetricColumns.PolicyVersion] = 3,
            [MetricColumns.ToolCallsPerSolved] = 1.25,
        });

        Assert.Equal([FixedHeader, "1,0.5,,,,,3,,1.25"], File.ReadAllLines(path));
    }

    [Fact]
    public void MetricsCsvWriter_CommaDecimalCulture_WritesInvariantRoundedNumbers()
    {
        using var dir = new TempDirectory();
        var path = dir.Combine("metrics.csv");
        var previous = CultureInfo.CurrentCulture;
        var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        comma.NumberFormat.NumberDecimalSeparator = ",";
        comma.NumberFormat.NumberGroupSeparator = ".";
        try
        {
            CultureInfo.CurrentCulture = comma;
            using var writer = new MetricsCsvWriter(path);
            writer.Append(12, new Dictionary<string, double>
            {
                [MetricColumns.RewardMean] = 0.1 + 0.2,
                [MetricColumns.TokensPerSecond] = 1234567.875,
                [MetricColumns.Entropy] = double.NaN,
            });
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }

        var row = File.ReadAllLines(path)[1];
        Assert.Equal("12,0.3,,,,NaN,,,,1234568", row);   // tokens_per_s: not a fixed column (timings.csv holds it in a run)
        var read = MetricsCsvWriter.Read(path).Single();
        Assert.Equal(0.3, read.Values["reward_mean"]);
        Assert.True(double.IsNaN(read.Values["entropy"]));
    }

    [Fact]
    public void MetricsCsvWriter_NewMetricLater_RewritesHeaderAndPadsEarlierRows()
    {
        using var dir = new TempDirectory();
        var path = dir.Combine("metrics.csv");
        using var writer = new MetricsCsvWriter(path);

        writer.Append(1, new Dictionary<string, double> { [MetricColumns.Accuracy] = 0.25, ["loss/kl"] = 0.01 });
        writer.Append(2, new Dictionary<string, double> { [MetricColumns.Accuracy] = 0.5, ["perf/phase_s"] = 3, ["loss/a,b"] = 7 });
        writer.Append(3, new Dictionary<string, double> { ["loss/kl"] = 0.02 });

        Assert.Equal(
            [
                FixedHeader + ",loss/kl,\"loss/a,b\",perf/phase_s",
                "1,,0.25,,,,,,,0.01,,",
                "2,,0.5,,,,,,,,7,3",
                "3,,,,,,,,,0.02,,",
            ],
            File.ReadAllLines(path));
        Assert.Equal("loss/a,b", writer.Columns[^2]);
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void MetricsCsvWriter_ReopenedFile_AppendsUnderExistingHeaderWithoutRepeatingIt()
    {
        using var dir = new TempDirectory();
        var path = dir.Combine("metrics.csv");
        using (var writer = new MetricsCsvWriter(path))
        {
            writer.Append(1, new Dictionary<string, double> { ["loss/kl"] = 0.5, [MetricColumns.RewardMean] = 1 });
        }

        using (var resumed = new MetricsCsvWriter(path))
        {
            Assert.Equal("loss/kl", resumed.Columns[^1]);
            resumed.Append(2, new Dictionary<string, double> { ["loss/kl"] = 0.25 });
        }

        Assert.Equal([FixedHeader + ",loss/kl", "1,1,,,,,,,,0.5", "2,,,,,,,,,0.25"], File.ReadAllLines(path));
    }

    [Fact]
    public void MetricsCsvWriter_ResumeAfterStepWithTornLastLine_DropsLaterAndTornRows()
    {
        using var dir = new TempDirectory();
        var path = dir.Combine("metrics.csv");
        File.WriteAllText(path, FixedHeader + "\n1,0.1,,,,,,,\n2,0.2,,,,,,,\n3,0.3,,,,,,,\n4,0.4,,");

        using (var writer = new MetricsCsvWriter(path, resumeAfterStep: 2))
        {
            writer.Append(3, new Dictionary<string, double> { [MetricColumns.RewardMean] = 0.35 });
        }

        Assert.Equal([FixedHeader, "1,0.1,,,,,,,", "2,0.2,,,,,,,", "3,0.35,,,,,,,"], File.ReadAllLines(path));
    }

    [Fact]
    public void MetricsCsvWriter_TornLastLineWithoutResumeStep_DropsOnlyTheTornRow()
    {
        using var dir = new TempDirectory();
        var path = dir.Combine("metrics.csv");
        File.WriteAllText(path, FixedHeader + "\n1,0.1,,,,,,,\n2,0.");

        using (var writer = new MetricsCsvWriter(path))
        {
            writer.Append(2, new Dictionary<string, double> { [MetricColumns.RewardMean] = 0.2 });
        }

        Assert.Equal([FixedHeader, "1,0.1,,,,,,,", "2,0.2,,,,,,,"], File.ReadAllLines(path));
    }

    [Fact]
    public void MetricsCsvWriter_SameStepAgain_MergesIntoLastRowNewValuesWinning()
    {
        using var dir = new TempDirectory();
        var path = dir.Combine("metrics.csv");
        using (var writer = new MetricsCsvWriter(path))
        {
            writer.Append(1, new Dictionary<string, double> { [MetricColumns.RewardMean] = 0.1 });
            writer.Append(2, new Dictionary<string, double> { [MetricColumns.RewardMean] = 0.2, [MetricColumns.Accuracy] = 0.3 });
            writer.Append(2, new Dictionary<string, double> { [MetricColumns.EvalAccuracy] = 0.4, [MetricColumns.Accuracy] = 0.35 });
            writer.Append(2, new Dictionary<string, double> { ["eval/pass@4"] = 0.5 });
        }
        using (var resumed = new MetricsCsvWriter(path))
        {
            resumed.Append(2, new Dictionary<string, double> { [MetricColumns.Entropy] = 1.5 });
        }

        Assert.Equal(
            [FixedHeader + ",eval/pass@4", "1,0.1,,,,,,,,", "2,0.2,0.35,0.4,,1.5,,,,0.5"],
            File.ReadAllLines(path));
    }

    [Fact]
    public void MetricsCsvWriter_EachRow_IsOnDiskBeforeDispose()
    {
        using var dir = new TempDirectory();
        var path = dir.Combine("metrics.csv");
        using var writer = new MetricsCsvWriter(path);

        writer.Append(5, new Dictionary<string, double> { [MetricColumns.EvalAccuracy] = 0.75 });

        using var read = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(read);
        Assert.Equal(FixedHeader + "\n5,,,0.75,,,,,\n", reader.ReadToEnd());
    }

    [Fact]
    public void MetricsCsvWriter_StableNameAndColumnNameTogether_ThrowsNamingTheColumn()
    {
        using var dir = new TempDirectory();
        using var writer = new MetricsCsvWriter(dir.Combine("metrics.csv"));

        var e = Assert.Throws<ArgumentException>(() => writer.Append(1, new Dictionary<string, double>
        {
            [MetricColumns.RewardMean] = 1,
            ["reward_mean"] = 2,
        }));

        Assert.Contains("'reward_mean'", e.Message);
    }

    [Fact]
    public void MetricsCsvWriter_ExistingFileOfOtherShape_RefusesToAppend()
    {
        using var dir = new TempDirectory();
        var path = dir.Combine("metrics.csv");
        File.WriteAllText(path, "name,value\nx,1\n");

        Assert.Throws<InvalidDataException>(() => new MetricsCsvWriter(path));
        Assert.Equal("name,value\nx,1\n", File.ReadAllText(path));
    }

    [Theory]
    [InlineData(0.38906250000000003, "0.389063")]
    [InlineData(0.1 + 0.2, "0.3")]
    [InlineData(-0.0001234567, "-0.000123457")]
    [InlineData(1.5e-7, "1.5E-07")]
    [InlineData(12345.5, "12345.5")]
    [InlineData(1234567.875, "1234568")]        // never fewer digits than the integer part
    [InlineData(3.0, "3")]
    [InlineData(123456789.0, "123456789")]     // integers stay exact
    [InlineData(-42.0, "-42")]
    public void FormatValue_Fraction_RoundsToSixSignificantDigits_IntegersExact(double value, string expected)
    {
        Assert.Equal(expected, MetricsCsvWriter.FormatValue(value));
    }

    [Fact]
    public void MetricsCsvWriter_LongFraction_IsWrittenRoundedAndReadBack()
    {
        using var dir = new TempDirectory();
        var path = dir.Combine("metrics.csv");
        using (var writer = new MetricsCsvWriter(path))
        {
            writer.Append(1, new Dictionary<string, double> { [MetricColumns.RewardMean] = 0.38906250000000003, ["actor/optimizer_steps"] = 8 });
        }

        Assert.Equal("1,0.389063,,,,,,,,8", File.ReadAllLines(path)[1]);
        Assert.Equal(0.389063, MetricsCsvWriter.Read(path).Single().Values["reward_mean"]);
    }

    [Theory]
    [InlineData(MetricColumns.RewardMean, "reward_mean")]
    [InlineData(MetricColumns.Accuracy, "accuracy")]
    [InlineData(MetricColumns.EvalAccuracy, "eval_accuracy")]
    [InlineData(MetricColumns.ToolCallsPerTrajectory, "tool_calls_per_traj")]
    [InlineData(MetricColumns.Entropy, "entropy")]
    [InlineData(MetricColumns.TokensPerSecond, "tokens_per_s")]
    [InlineData(MetricColumns.PolicyVersion, "policy_version")]
    [InlineData(MetricColumns.BranchesPerPrompt, "branches_per_prompt")]
    [InlineData(MetricColumns.ToolCallsPerSolved, "tool_calls_per_solved")]
    [InlineData("loss/kl", "loss/kl")]
    public void MetricColumns_StableName_MapsToColumnAndBack(string metric, string column)
    {
        Assert.Equal(column, MetricColumns.ToColumn(metric));
        Assert.Equal(metric, MetricColumns.ToMetricName(column));
    }
}
