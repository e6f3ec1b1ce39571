using Azure;

namespace AgentRl.Policy.Checkpoints;

/// <summary>
/// How a blob-backed store reports storage failures: one <see cref="CheckpointStoreException"/> naming the store, the
/// operation and the last attempt's reason, after the client's bounded retries (checkpoint store and run store alike).
/// </summary>
public static class BlobStoreGuard
{
    /// <summary>Runs one store operation; storage failures become a <see cref="CheckpointStoreException"/>.</summary>
    public static async Task<T> RunAsync<T>(string description, string operation, Func<Task<T>> body, CancellationToken cancellationToken)
    {
        try
        {
            return await body();
        }
        catch (Exception error) when (error is RequestFailedException or AggregateException or HttpRequestException or IOException
            || (error is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            if (error is CheckpointStoreException or InvalidDataException)
            {
                throw;
            }

            throw new CheckpointStoreException($"{description}: could not {operation}: {Summarize(error)}", error);
        }
    }

    /// <summary>Runs one store operation that returns nothing.</summary>
    public static Task RunAsync(string description, string operation, Func<Task> body, CancellationToken cancellationToken) =>
        RunAsync<bool>(description, operation, async () =>
        {
            await body();
            return true;
        }, cancellationToken);

    private static string Summarize(Exception error) => error switch
    {
        AggregateException aggregate => $"{aggregate.InnerExceptions.Count} attempts failed; last: {FirstLine(aggregate.InnerExceptions[^1].Message)}",
        OperationCanceledException => "the request timed out",
        _ => FirstLine(error.Message),
    };

    private static string FirstLine(string message) => message.Split('\n', 2)[0].TrimEnd('\r');
}
