namespace AgentRl.Grains.Reporting;

/// <summary>
/// A run artifact (metrics CSV, TensorBoard events, plot, trajectory log) could not be written.
/// The message names the file and the likely cause (for example a full disk); the original
/// error is the inner exception. Writers stay usable after it: the next write tries again.
/// </summary>
public sealed class ArtifactWriteException : IOException
{
    public ArtifactWriteException(string path, string what, Exception inner)
        : base($"Could not write {what} '{path}': {inner.Message}{Hint(inner)}", inner)
    {
        Path = path;
    }

    /// <summary>The file (or directory) that could not be written.</summary>
    public string Path { get; }

    private static string Hint(Exception inner) => inner switch
    {
        UnauthorizedAccessException => " (no permission to write there)",
        DirectoryNotFoundException => " (the run directory was removed)",
        IOException => " (the disk may be full or the file system read-only)",
        _ => "",
    };
}
