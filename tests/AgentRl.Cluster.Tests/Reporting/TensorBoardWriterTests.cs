using System.Diagnostics;
using System.Globalization;
using System.Text;
using AgentRl.Grains.Reporting;

namespace AgentRl.Cluster.Tests.Reporting;

public sealed class TensorBoardWriterTests
{
    [Theory]
    [InlineData("123456789", 0xE3069283u)]
    [InlineData("", 0x00000000u)]
    [InlineData("a", 0xC1D04330u)]
    public void Crc32CCompute_KnownVectors_MatchCastagnoliChecksums(string text, uint expected)
    {
        Assert.Equal(expected, Crc32C.Compute(Encoding.ASCII.GetBytes(text)));
    }

    [Fact]
    public void Crc32CCompute_Rfc3720Vectors_MatchChecksums()
    {
        // RFC 3720 (iSCSI) B.4: 32 bytes of zeros, of 0xFF, and ascending 0..31.
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
        Assert.Equal(0x62A8AB43u, Crc32C.Compute(Enumerable.Repeat((byte)0xFF, 32).ToArray()));
        Assert.Equal(0x46DD794Eu, Crc32C.Compute(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()));
    }

    [Theory]
    [InlineData(0xE3069283u)]
    [InlineData(0x00000000u)]
    [InlineData(0xFFFFFFFFu)]
    [InlineData(0x12345678u)]
    public void Crc32CMask_AnyCrc_RotatesRight15AndAddsDelta(uint crc)
    {
        var expected = (uint)((((ulong)(crc >> 15) | ((ulong)crc << 17)) + 0xA282EAD8ul) & 0xFFFFFFFFul);
        Assert.Equal(expected, Crc32C.Mask(crc));
    }

    [Fact]
    public void Crc32CMask_CheckValue_MatchesHandComputedMask()
    {
        // 0xE3069283 rotated right by 15 = 0x2507C60D; + 0xA282EAD8 = 0xC78AB0E5.
        Assert.Equal(0xC78AB0E5u, Crc32C.Mask(0xE3069283u));
    }

    [Fact]
    public void TensorBoardWriter_FewScalars_IndependentReaderDecodesThem()
    {
        using var dir = new TempDirectory();
        var time = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_250);
        string path;
        using (var writer = new TensorBoardWriter(dir.Path, "test-host", () => time))
        {
            path = writer.Path;
            writer.WriteScalars(1, [new("rollout/reward_mean", 0.25), new("loss/kl", -1.5)]);
            time = time.AddSeconds(2);
            writer.WriteScalar(2, "rollout/reward_mean", 0.75);
            writer.WriteScalar(300, "perf/tokens_per_s", 12345.5);
        }

        Assert.Equal("events.out.tfevents.1700000000.test-host", Path.GetFileName(path));
        var events = EventFileReader.Read(path);

        Assert.Equal(4, events.Count);
        Assert.Equal("brain.Event:2", events[0].FileVersion);
        Assert.Empty(events[0].Values);
        Assert.Equal(1_700_000_000.25, events[0].WallTime, 6);

        Assert.Equal([1L, 2L, 300L], events.Skip(1).Select(e => e.Step));
        Assert.All(events.Skip(1), e => Assert.Null(e.FileVersion));
        Assert.Equal(
            [new("rollout/reward_mean", 0.25f), new("loss/kl", -1.5f)],
            events[1].Values);
        Assert.Equal([new EventFileReader.ScalarValue("rollout/reward_mean", 0.75f)], events[2].Values);
        Assert.Equal([new EventFileReader.ScalarValue("perf/tokens_per_s", 12345.5f)], events[3].Values);
        Assert.Equal(1_700_000_002.25, events[2].WallTime, 6);

        CrossCheckWithTensorBoardIfInstalled(dir.Path, "rollout/reward_mean", [(1, 0.25), (2, 0.75)]);
    }

    [Fact]
    public void TensorBoardWriter_EachStep_IsOnDiskBeforeDispose()
    {
        using var dir = new TempDirectory();
        using var writer = new TensorBoardWriter(dir.Path, "h");

        writer.WriteScalar(7, "rollout/accuracy", 0.5);

        var events = EventFileReader.Read(writer.Path);
        Assert.Equal(2, events.Count);
        Assert.Equal(7, events[1].Step);
        Assert.Equal(0.5f, events[1].Values.Single().Value);
    }

    [Fact]
    public void TensorBoardWriter_TwoWritersSameSecond_GetDistinctFiles()
    {
        using var dir = new TempDirectory();
        var time = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);
        using var first = new TensorBoardWriter(dir.Path, "h", () => time);
        using var second = new TensorBoardWriter(dir.Path, "h", () => time);

        first.WriteScalar(1, "a", 1);
        second.WriteScalar(1, "a", 2);

        Assert.NotEqual(first.Path, second.Path);
        Assert.Matches(@"^events\.out\.tfevents\.1700000000\.h(\.\d+)?$", Path.GetFileName(second.Path));
        Assert.Equal(1f, EventFileReader.Read(first.Path)[1].Values.Single().Value);
        Assert.Equal(2f, EventFileReader.Read(second.Path)[1].Values.Single().Value);
    }

    [Fact]
    public void TensorBoardWriter_NegativeAndLargeSteps_RoundTripAsInt64()
    {
        using var dir = new TempDirectory();
        using var writer = new TensorBoardWriter(dir.Path, "h");

        writer.WriteScalar(-3, "x", 1);
        writer.WriteScalar(long.MaxValue, "x", 2);

        var steps = EventFileReader.Read(writer.Path).Skip(1).Select(e => e.Step);
        Assert.Equal([-3L, long.MaxValue], steps);
    }

    [Fact]
    public void TensorBoardWriterFrameRecord_CorruptedByte_FailsIndependentCrcCheck()
    {
        using var dir = new TempDirectory();
        string path;
        using (var writer = new TensorBoardWriter(dir.Path, "h"))
        {
            path = writer.Path;
            writer.WriteScalar(1, "rollout/reward_mean", 0.5);
        }
        var bytes = File.ReadAllBytes(path);
        bytes[^6] ^= 0x01; // inside the last record's data
        File.WriteAllBytes(path, bytes);

        var e = Assert.Throws<InvalidDataException>(() => EventFileReader.Read(path));
        Assert.Contains("data CRC", e.Message);
    }

    /// <summary>
    /// When Python's tensorboard package is installed, it must read the same scalars back.
    /// It is not installed on the CI image, so this is an extra check only where it is.
    /// </summary>
    private static void CrossCheckWithTensorBoardIfInstalled(string logDirectory, string tag, (long Step, double Value)[] expected)
    {
        const string Script = """
            import sys
            from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
            acc = EventAccumulator(sys.argv[1]); acc.Reload()
            for e in acc.Scalars(sys.argv[2]): print(f"{e.step} {e.value!r}")
            """;
        if (!RunPython(["-c", "import tensorboard"], out _))
        {
            return;
        }
        Assert.True(RunPython(["-c", Script, logDirectory, tag], out var output), output);
        var rows = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' '))
            .Select(p => (long.Parse(p[0], CultureInfo.InvariantCulture), double.Parse(p[1], CultureInfo.InvariantCulture)))
            .ToArray();
        Assert.Equal(expected, rows);
    }

    private static bool RunPython(string[] arguments, out string output)
    {
        try
        {
            var start = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(60_000))
            {
                process.Kill();
                output = "timed out";
                return false;
            }
            output = process.ExitCode == 0 ? stdout.Result : stdout.Result + stderr.Result;
            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            output = e.Message;
            return false;
        }
    }
}
