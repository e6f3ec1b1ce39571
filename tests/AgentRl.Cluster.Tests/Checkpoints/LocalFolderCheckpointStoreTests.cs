using AgentRl.Policy.Checkpoints;

namespace AgentRl.Cluster.Tests.Checkpoints;

public sealed class LocalFolderCheckpointStoreTests(TempFolders temp) : IClassFixture<TempFolders>
{
    [Fact]
    public async Task Publish_ThenDownload_RoundTripsEveryFileBitExact()
    {
        var root = temp.New("local-root");
        var store = CheckpointStoreFactory.Create(new CheckpointStoreOptions { Kind = "local", Root = root }, "run-1");
        var source = temp.NewVersionFolder(seed: 1);

        var published = await store.PublishAsync(123, source);
        var target = temp.New("local-dl");
        var downloaded = await store.DownloadAsync(123, target);

        Assert.Equal(Path.Combine(root, "run-1", "checkpoints", "v000123"), store.GetLocation(123));
        Assert.True(File.Exists(Path.Combine(root, "run-1", "checkpoints", "v000123", "model.safetensors")));
        CheckpointTestData.AssertSameFiles(source, target);
        Assert.Equal(published.Files, downloaded.Files);
        Assert.Contains(downloaded.Files, f => f.Name == "optimizer/adamw.state");
        await using var stream = await store.OpenReadAsync(123, "model.safetensors");
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        Assert.True(copy.ToArray().AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(source, "model.safetensors"))));
    }

    [Fact]
    public async Task ListVersions_IgnoresIncompleteFolders_AndLatestIsTheNewestComplete()
    {
        var store = new LocalFolderCheckpointStore(temp.New("local-list"));
        var source = temp.NewVersionFolder(seed: 2);
        await store.PublishAsync(1, source);
        await store.PublishAsync(10, source);
        await store.PublishAsync(2, source);
        // A crashed publish: a temp folder, and a version folder without a manifest.
        Directory.CreateDirectory(Path.Combine(store.Folder, ".tmp-v000011-abc"));
        Directory.CreateDirectory(Path.Combine(store.Folder, "v000012"));
        File.WriteAllText(Path.Combine(store.Folder, "v000012", "model.safetensors"), "partial");

        Assert.Equal([1L, 2L, 10L], await store.ListVersionsAsync());
        Assert.Equal(10L, await store.GetLatestVersionAsync());
        await Assert.ThrowsAsync<CheckpointNotFoundException>(() => store.GetManifestAsync(12));
    }

    [Fact]
    public async Task DeleteOldVersions_KeepsTheNewestN()
    {
        var store = new LocalFolderCheckpointStore(temp.New("local-delete"));
        var source = temp.NewVersionFolder(seed: 3);
        foreach (var version in new long[] { 1, 2, 3, 4 })
        {
            await store.PublishAsync(version, source);
        }

        var deleted = await store.DeleteOldVersionsAsync(keepNewest: 2, alsoKeep: []);

        Assert.Equal([1L, 2L], deleted);
        Assert.Equal([3L, 4L], await store.ListVersionsAsync());
        Assert.False(Directory.Exists(store.GetLocation(1)));
    }

    [Fact]
    public async Task DeleteOldVersions_PinnedVersions_SurviveBesidesTheNewestN()
    {
        var store = new LocalFolderCheckpointStore(temp.New("local-pinned"));
        var source = temp.NewVersionFolder(seed: 5);
        foreach (var version in new long[] { 1, 2, 3, 4, 5, 6 })
        {
            await store.PublishAsync(version, source);
        }

        // 1 (a warm start) and 3 (the best) pinned; 6 pinned too, and among the newest anyway.
        var deleted = await store.DeleteOldVersionsAsync(keepNewest: 2, alsoKeep: [1, 3, 6]);

        Assert.Equal([2L, 4L], deleted);
        Assert.Equal([1L, 3L, 5L, 6L], await store.ListVersionsAsync());
        Assert.False(Directory.Exists(store.GetLocation(2)));
        var kept = temp.New("local-pinned-copy");
        await store.DownloadAsync(1, kept);
        CheckpointTestData.AssertSameFiles(source, kept);
        Assert.Empty(await store.DeleteOldVersionsAsync(keepNewest: 2, alsoKeep: [1, 3]));   // nothing more to delete
    }

    [Fact]
    public async Task Publish_ExistingVersion_IsRefused()
    {
        var store = new LocalFolderCheckpointStore(temp.New("local-twice"));
        var source = temp.NewVersionFolder(seed: 4);
        await store.PublishAsync(5, source);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => store.PublishAsync(5, source));

        Assert.Contains("already exists", error.Message);
        Assert.Empty(Directory.EnumerateDirectories(store.Folder, ".tmp-*"));
    }

    [Fact]
    public async Task Publish_UnwritableRoot_ThrowsNamingTheFolder()
    {
        // A regular file where the store expects a folder: every write below it fails.
        var blocker = Path.Combine(temp.New("local-broken"), "not-a-folder");
        File.WriteAllText(blocker, "x");
        var store = new LocalFolderCheckpointStore(Path.Combine(blocker, "checkpoints"));

        var error = await Assert.ThrowsAsync<CheckpointStoreException>(() => store.PublishAsync(1, temp.NewVersionFolder(seed: 5)));

        Assert.Contains("local checkpoint folder " + store.Folder, error.Message);
        Assert.Contains("could not publish version 1", error.Message);
    }

    [Fact]
    public void Create_InvalidOptions_ListsEveryProblem()
    {
        var error = Assert.Throws<ArgumentException>(() => CheckpointStoreFactory.Create(
            new CheckpointStoreOptions { Kind = "azure-blob", Container = "Bad_Name", MaxRetries = -1 }, "run"));

        Assert.Contains("exactly one of ConnectionString or ServiceUri", error.Message);
        Assert.Contains("AgentRl:Checkpoints:Container", error.Message);
        Assert.Contains("AgentRl:Checkpoints:MaxRetries", error.Message);
        Assert.Contains("Kind must be 'local' or 'azure-blob'", Assert.Throws<ArgumentException>(() =>
            CheckpointStoreFactory.Create(new CheckpointStoreOptions { Kind = "s3" }, "run")).Message);
        Assert.Throws<ArgumentException>(() => CheckpointStoreFactory.Create(new CheckpointStoreOptions(), "../escape"));
    }
}
