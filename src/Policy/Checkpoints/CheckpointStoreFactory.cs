namespace AgentRl.Policy.Checkpoints;

/// <summary>Builds the configured <see cref="ICheckpointStore"/> for a run.</summary>
public static class CheckpointStoreFactory
{
    /// <summary>
    /// The store of <paramref name="runId"/>: a <see cref="LocalFolderCheckpointStore"/> at <c>&lt;Root&gt;/&lt;run&gt;/checkpoints</c>
    /// or an <see cref="AzureBlobCheckpointStore"/> at <c>&lt;Container&gt;/&lt;Prefix&gt;/&lt;run&gt;/checkpoints</c>.
    /// Throws <see cref="ArgumentException"/> listing every problem when the options are invalid.
    /// </summary>
    public static ICheckpointStore Create(CheckpointStoreOptions options, string runId)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate().ToList();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid checkpoint store options:" + Environment.NewLine + string.Join(Environment.NewLine, problems));
        }

        return options.Kind == CheckpointStoreOptions.AzureBlobKind
            ? AzureBlobCheckpointStore.ForRun(options, runId)
            : LocalFolderCheckpointStore.ForRun(options.Root, runId);
    }

    /// <summary>Returns <paramref name="runId"/> when it is usable as one folder / blob path segment, else throws.</summary>
    public static string CheckRunId(string runId)
    {
        if (string.IsNullOrWhiteSpace(runId) || runId is "." or ".." || runId.IndexOfAny(['/', '\\', ':', '\0']) >= 0 || runId.Length > 200)
        {
            throw new ArgumentException($"run id '{runId}' cannot name a checkpoint folder: use letters, digits, '-', '_' or '.'", nameof(runId));
        }

        return runId;
    }
}
