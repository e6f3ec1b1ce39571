namespace AgentRl.Abstractions.Training;

/// <summary>
/// A trainer grain was called before <see cref="ITrainerGrain.InitializeAsync"/> — typically a new activation after the
/// silo holding the trainer was lost. The run redoes its step from the last checkpoint.
/// </summary>
[GenerateSerializer, Alias("agentrl.trainer-not-initialized.v1")]
public sealed class TrainerNotInitializedException : Exception
{
    public TrainerNotInitializedException()
    {
    }

    public TrainerNotInitializedException(string message)
        : base(message)
    {
    }

    public TrainerNotInitializedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
