using System.Text.Json;
using AgentRl.Abstractions.Training;
using AgentRl.Grains.Reporting;

namespace AgentRl.Cluster.Tests.Reporting;

public sealed class TrajectoryLogWriterTests
{
    private sealed record Turn(string Role, string Content);

    private sealed record Trajectory(int Step, string Prompt, IReadOnlyList<Turn> Turns, double Reward);

    [Fact]
    public void TrajectoryLogWriter_Records_AreOneJsonObjectPerLine()
    {
        using var dir = new TempDirectory();
        using var writer = new TrajectoryLogWriter(dir.Path, jsonOptions: new JsonSerializerOptions { WriteIndented = true });

        writer.Write(new Trajectory(1, "2+2?\nthink", [new("assistant", "<tool>python</tool>"), new("tool", "4")], 1.0));
        writer.Write(new { step = 2, note = "anonymous records work too" });

        var lines = File.ReadAllLines(writer.CurrentPath);
        Assert.Equal(2, lines.Length);
        var first = JsonSerializer.Deserialize<Trajectory>(lines[0])!;
        Assert.Equal("2+2?\nthink", first.Prompt);
        Assert.Equal("4", first.Turns[1].Content);
        Assert.Equal(1.0, first.Reward);
        Assert.Equal("anonymous records work too", JsonDocument.Parse(lines[1]).RootElement.GetProperty("note").GetString());
    }

    [Fact]
    public void TrajectoryLogWriter_OverSizeCap_RotatesKeepingEveryFileWithinCap()
    {
        using var dir = new TempDirectory();
        const long Cap = 300;
        using var writer = new TrajectoryLogWriter(dir.Path, maxBytesPerFile: Cap);

        for (var i = 0; i < 20; i++)
        {
            writer.Write(new Trajectory(i, new string('x', 40), [], i));
        }

        var files = writer.Files;
        Assert.True(files.Count >= 4, $"{files.Count} files");
        Assert.All(files, f => Assert.InRange(new FileInfo(f).Length, 1, Cap));
        Assert.Equal(Enumerable.Range(0, files.Count).Select(i => $"trajectories.{i:D4}.jsonl"), files.Select(Path.GetFileName));
        var steps = files.SelectMany(File.ReadAllLines).Select(l => JsonSerializer.Deserialize<Trajectory>(l, TrajectoryRecord.JsonOptions)!.Step);
        Assert.Equal(Enumerable.Range(0, 20), steps);
    }

    [Fact]
    public void TrajectoryLogWriter_RecordLargerThanCap_GetsAFileOfItsOwn()
    {
        using var dir = new TempDirectory();
        using var writer = new TrajectoryLogWriter(dir.Path, maxBytesPerFile: 100);

        writer.Write(new Trajectory(0, "small", [], 0));
        writer.Write(new Trajectory(1, new string('y', 500), [], 0));
        writer.Write(new Trajectory(2, "small", [], 0));

        Assert.Equal([1, 1, 1], writer.Files.Select(f => File.ReadAllLines(f).Length));
    }

    [Fact]
    public void TrajectoryLogWriter_Reopened_ContinuesLastFileAndStartsNewAfterTornLine()
    {
        using var dir = new TempDirectory();
        using (var writer = new TrajectoryLogWriter(dir.Path))
        {
            writer.Write(new Trajectory(0, "a", [], 0));
        }
        using (var writer = new TrajectoryLogWriter(dir.Path))
        {
            writer.Write(new Trajectory(1, "b", [], 0));
            Assert.Single(writer.Files);
            Assert.Equal(2, File.ReadAllLines(writer.CurrentPath).Length);
        }
        File.AppendAllText(Path.Combine(dir.Path, "trajectories.0000.jsonl"), "{\"step\":2,\"pro");

        using (var writer = new TrajectoryLogWriter(dir.Path))
        {
            writer.Write(new Trajectory(3, "c", [], 0));
            Assert.Equal("trajectories.0001.jsonl", Path.GetFileName(writer.CurrentPath));
            Assert.Equal(3, JsonSerializer.Deserialize<Trajectory>(File.ReadAllLines(writer.CurrentPath).Single(), TrajectoryRecord.JsonOptions)!.Step);
        }
    }

    [Fact]
    public void TrajectoryLogWriter_DiskFull_ThrowsArtifactWriteExceptionNamingFileThenRecovers()
    {
        Assert.True(File.Exists("/dev/full"), "this test needs Linux's /dev/full (every write fails with ENOSPC)");
        using var dir = new TempDirectory();
        var current = Path.Combine(dir.Path, "trajectories.0000.jsonl");
        File.CreateSymbolicLink(current, "/dev/full");
        using var writer = new TrajectoryLogWriter(dir.Path);

        var e = Assert.Throws<ArtifactWriteException>(() => writer.Write(new Trajectory(1, "p", [], 0)));

        Assert.Equal(current, e.Path);
        Assert.Contains(current, e.Message);
        Assert.Contains("disk may be full", e.Message);
        Assert.IsAssignableFrom<IOException>(e.InnerException);

        File.Delete(current);
        writer.Write(new Trajectory(2, "p", [], 0));
        Assert.Equal(2, JsonSerializer.Deserialize<Trajectory>(File.ReadAllLines(current).Single(), TrajectoryRecord.JsonOptions)!.Step);
    }

    [Fact]
    public void TrajectoryLogWriter_UnserializableRecord_ThrowsArgumentExceptionAndWritesNothing()
    {
        using var dir = new TempDirectory();
        using var writer = new TrajectoryLogWriter(dir.Path);
        var cyclic = new Node();
        cyclic.Next = cyclic;

        var e = Assert.Throws<ArgumentException>(() => writer.Write(cyclic));

        Assert.Contains(nameof(Node), e.Message);
        Assert.False(File.Exists(writer.CurrentPath) && new FileInfo(writer.CurrentPath).Length > 0);
    }

    private sealed class Node
    {
        public Node? Next { get; set; }
    }
}
