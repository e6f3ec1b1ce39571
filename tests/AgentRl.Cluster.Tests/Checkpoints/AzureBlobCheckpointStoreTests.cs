using System.Diagnostics;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Policy.Checkpoints;
using Azure.Storage.Blobs;

namespace AgentRl.Cluster.Tests.Checkpoints;

public sealed class AzureBlobCheckpointStoreTests(AzuriteFixture azurite, TempFolders temp) : IClassFixture<AzuriteFixture>, IClassFixture<TempFolders>
{
    private ICheckpointStore Store(string container, string run = "run-1") =>
        CheckpointStoreFactory.Create(
            new CheckpointStoreOptions { Kind = "azure-blob", ConnectionString = azurite.Server.ConnectionString, Container = container, Prefix = "runs" },
            run);

    [Fact]
    public async Task Publish_ThenDownload_RoundTripsEveryFileBitExactThroughAzurite()
    {
        var store = Store("roundtrip");
        var source = temp.NewVersionFolder(seed: 11);

        var published = await store.PublishAsync(123, source);
        var target = temp.New("blob-dl");
        var downloaded = await store.DownloadAsync(123, target);

        CheckpointTestData.AssertSameFiles(source, target);
        Assert.Equal(published.Files, downloaded.Files);
        Assert.EndsWith("/devstoreaccount1/roundtrip/runs/run-1/checkpoints/v000123", store.GetLocation(123));
        await using var stream = await store.OpenReadAsync(123, "optimizer/adamw.state");
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        Assert.True(copy.ToArray().AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(source, "optimizer", "adamw.state"))));
    }

    [Fact]
    public async Task ListVersions_UploadWithoutManifest_IsNotListed()
    {
        var store = Store("incomplete");
        var source = temp.NewVersionFolder(seed: 12);
        Assert.Empty(await store.ListVersionsAsync());
        Assert.Null(await store.GetLatestVersionAsync());
        await store.PublishAsync(1, source);
        await store.PublishAsync(3, source);
        // An upload that died before its manifest: files of v000007 are there, the manifest is not.
        var container = new BlobContainerClient(azurite.Server.ConnectionString, "incomplete", new BlobClientOptions(AzureBlobCheckpointStore.PinnedServiceVersion));
        await container.GetBlobClient("runs/run-1/checkpoints/v000007/model.safetensors").UploadAsync(new BinaryData(new byte[1024]));
        await container.GetBlobClient("runs/run-1/checkpoints/v000007/config.json").UploadAsync(new BinaryData("{}"u8.ToArray()));

        Assert.Equal([1L, 3L], await store.ListVersionsAsync());
        Assert.Equal(3L, await store.GetLatestVersionAsync());
        await Assert.ThrowsAsync<CheckpointNotFoundException>(() => store.DownloadAsync(7, temp.New("blob-partial")));
    }

    [Fact]
    public async Task DeleteOldVersions_KeepsTheNewestN_AndRemovesTheirBlobs()
    {
        var store = Store("delete");
        var source = temp.NewVersionFolder(seed: 13);
        foreach (var version in new long[] { 4, 5, 6 })
        {
            await store.PublishAsync(version, source);
        }

        Assert.Equal([4L, 5L], await store.DeleteOldVersionsAsync(keepNewest: 1, alsoKeep: []));

        Assert.Equal([6L], await store.ListVersionsAsync());
        var container = new BlobContainerClient(azurite.Server.ConnectionString, "delete", new BlobClientOptions(AzureBlobCheckpointStore.PinnedServiceVersion));
        var left = new List<string>();
        await foreach (var blob in container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, prefix: "runs/run-1/checkpoints/", CancellationToken.None))
        {
            left.Add(blob.Name);
        }

        Assert.All(left, name => Assert.StartsWith("runs/run-1/checkpoints/v000006", name));
        Assert.NotEmpty(left);
    }

    [Fact]
    public async Task DeleteOldVersions_PinnedVersions_SurviveBesidesTheNewestN()
    {
        var store = Store("delete-pinned");
        var source = temp.NewVersionFolder(seed: 15);
        foreach (var version in new long[] { 2, 3, 4, 5, 6, 7 })
        {
            await store.PublishAsync(version, source);
        }

        Assert.Equal([4L, 5L], await store.DeleteOldVersionsAsync(keepNewest: 2, alsoKeep: [2, 3, 7]));

        Assert.Equal([2L, 3L, 6L, 7L], await store.ListVersionsAsync());
        var target = temp.New("blob-pinned");
        await store.DownloadAsync(2, target);
        CheckpointTestData.AssertSameFiles(source, target);
    }

    [Fact]
    public async Task Publish_ExistingVersion_IsRefused()
    {
        var store = Store("twice");
        var source = temp.NewVersionFolder(seed: 14);
        await store.PublishAsync(2, source);

        await Assert.ThrowsAsync<InvalidOperationException>(() => store.PublishAsync(2, source));
    }

    [Fact]
    public async Task Operations_NothingListening_FailFastNamingTheStore()
    {
        var port = Processes.FreeTcpPort();
        var store = CheckpointStoreFactory.Create(
            new CheckpointStoreOptions { Kind = "azure-blob", ConnectionString = AzuriteServer.ConnectionStringFor(port), Container = "gone" }, "run-9");

        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<CheckpointStoreException>(() => store.ListVersionsAsync());
        var publish = await Assert.ThrowsAsync<CheckpointStoreException>(() => store.PublishAsync(1, temp.NewVersionFolder(seed: 15)));
        watch.Stop();

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"two failed operations took {watch.Elapsed}");
        Assert.Contains($"azure-blob checkpoint store http://127.0.0.1:{port}/devstoreaccount1", error.Message);
        Assert.Contains("container 'gone'", error.Message);
        Assert.Contains("could not list versions", error.Message);
        Assert.Contains("could not publish version 1", publish.Message);
    }

    [Fact]
    public async Task Operations_StorageAcceptsButNeverAnswers_TimeOutWithinTheConfiguredBound()
    {
        // A listener that accepts connections and never answers: the store must give up after its bounded retries.
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        var port = ((System.Net.IPEndPoint)silent.LocalEndpoint).Port;
        var store = CheckpointStoreFactory.Create(
            new CheckpointStoreOptions
            {
                Kind = "azure-blob",
                ConnectionString = AzuriteServer.ConnectionStringFor(port),
                Container = "silent",
                MaxRetries = 1,
                NetworkTimeout = TimeSpan.FromSeconds(1),
            },
            "run-3");

        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<CheckpointStoreException>(() => store.GetLatestVersionAsync());
        watch.Stop();

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"a silent storage held the call for {watch.Elapsed}");
        Assert.Contains("container 'silent'", error.Message);
    }

    [Fact]
    public async Task Operations_AzuriteStopped_FailFastWithAClearError()
    {
        var own = await AzuriteServer.StartAsync();
        var store = CheckpointStoreFactory.Create(
            new CheckpointStoreOptions { Kind = "azure-blob", ConnectionString = own.ConnectionString, Container = "outage" }, "run-2");
        await store.PublishAsync(1, temp.NewVersionFolder(seed: 16));
        await own.DisposeAsync();

        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<CheckpointStoreException>(() => store.DownloadAsync(1, temp.New("blob-outage")));
        watch.Stop();

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"failed download took {watch.Elapsed}");
        Assert.Contains("container 'outage'", error.Message);
        Assert.Contains("version 1", error.Message);
    }
}
