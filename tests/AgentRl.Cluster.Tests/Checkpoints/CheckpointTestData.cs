namespace AgentRl.Cluster.Tests.Checkpoints;

/// <summary>Temporary folders of one test class, deleted when the class's tests are done.</summary>
public sealed class TempFolders : IDisposable
{
    private readonly List<string> _folders = [];

    public string New(string name)
    {
        var folder = Directory.CreateTempSubdirectory("agentrl-" + name + "-").FullName;
        lock (_folders)
        {
            _folders.Add(folder);
        }

        return folder;
    }

    /// <summary>A version folder like a trainer writes: config, a few-MB model, nested optimizer state, run state, an empty file.</summary>
    public string NewVersionFolder(int seed) => CheckpointTestData.FillVersionFolder(New("ckpt-src"), seed);

    public void Dispose()
    {
        foreach (var folder in _folders)
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // Best effort.
            }
        }
    }
}

/// <summary>Random checkpoint folders and bit-exact comparison.</summary>
internal static class CheckpointTestData
{
    public static string FillVersionFolder(string folder, int seed)
    {
        var random = new Random(seed);
        Write(folder, "config.json", System.Text.Encoding.UTF8.GetBytes($$"""{"seed": {{seed}}, "layers": 2}"""));
        Write(folder, "model.safetensors", Bytes(random, (3 << 20) + 12_345));
        Write(folder, "optimizer/adamw.state", Bytes(random, (1 << 20) + 7));
        Write(folder, "run-state.json", Bytes(random, 513));
        Write(folder, "empty.bin", []);
        return folder;
    }

    public static void AssertSameFiles(string expectedFolder, string actualFolder)
    {
        var expected = Files(expectedFolder);
        var actual = Files(actualFolder);
        Assert.Equal(expected, actual);
        foreach (var name in expected)
        {
            var a = File.ReadAllBytes(Path.Combine(expectedFolder, name));
            var b = File.ReadAllBytes(Path.Combine(actualFolder, name));
            Assert.True(a.AsSpan().SequenceEqual(b), $"{name} differs ({a.Length} vs {b.Length} bytes)");
        }
    }

    private static string[] Files(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(folder, f).Replace('\\', '/'))
            .Where(f => f != AgentRl.Policy.Checkpoints.CheckpointManifest.FileName)
            .Order(StringComparer.Ordinal)
            .ToArray();

    private static byte[] Bytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static void Write(string folder, string name, byte[] bytes)
    {
        var path = Path.Combine(folder, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
    }
}
