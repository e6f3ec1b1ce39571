namespace AgentRl.Grains.Reporting;

/// <summary>Options of <see cref="RunArtifacts"/>; every field has a documented default.</summary>
public sealed class RunArtifactsOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "AgentRl:Reporting";

    /// <summary>Re-render <c>training.png</c> every this many recorded steps (it is also rendered on dispose). Default 10.</summary>
    public int PlotEveryNSteps { get; set; } = 10;

    /// <summary>Plot width in pixels. Default 1000.</summary>
    public int PlotWidth { get; set; } = TrainingPlot.DefaultWidth;

    /// <summary>Plot height in pixels. Default 600.</summary>
    public int PlotHeight { get; set; } = TrainingPlot.DefaultHeight;

    /// <summary>Plot title; null uses the run directory's name. Default null.</summary>
    public string? PlotTitle { get; set; }

    /// <summary>Size cap of one trajectory log file in bytes. Default 64 MiB.</summary>
    public long TrajectoryMaxBytesPerFile { get; set; } = TrajectoryLogWriter.DefaultMaxBytesPerFile;

    /// <summary>Host name in the TensorBoard event file name; null uses the machine name. Default null.</summary>
    public string? HostName { get; set; }

    /// <summary>
    /// When resuming from a checkpoint of this step, <c>metrics.csv</c> rows of later steps are dropped
    /// (they are about to be recorded again). Null keeps every row. Default null.
    /// </summary>
    public long? ResumeAfterStep { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        if (PlotEveryNSteps < 1)
        {
            throw new ArgumentException($"{nameof(PlotEveryNSteps)} must be at least 1 (was {PlotEveryNSteps}).");
        }
        if (PlotWidth < 100 || PlotHeight < 100)
        {
            throw new ArgumentException($"{nameof(PlotWidth)} and {nameof(PlotHeight)} must be at least 100 (were {PlotWidth}×{PlotHeight}).");
        }
        if (TrajectoryMaxBytesPerFile < 1)
        {
            throw new ArgumentException($"{nameof(TrajectoryMaxBytesPerFile)} must be positive (was {TrajectoryMaxBytesPerFile}).");
        }
    }
}
