using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Training;
using AgentRl.Pipeline.Metrics;
using AgentRl.Tasks;

namespace AgentRl.Grains.Reporting;

/// <summary>
/// The files a training run writes into its directory (<c>runs/&lt;run&gt;/</c>):
/// <list type="bullet">
/// <item><c>metrics.csv</c> — <see cref="MetricsCsvWriter"/>, columns per <see cref="MetricColumns"/>: every metric the seed
/// determines, so that two runs of one seed give the same bytes;</item>
/// <item><c>timings.csv</c> — the wall-clock metrics (<see cref="MetricColumns.IsWallClock"/>: phase durations, rates), one
/// row per step in the same format;</item>
/// <item><c>events.out.tfevents.*</c> — <see cref="TensorBoardWriter"/>, tags are the stable metric names
/// (<c>tensorboard --logdir runs</c> shows each run under its directory name);</item>
/// <item><c>training.png</c> — <see cref="TrainingPlot"/> of <c>rollout/reward_mean</c>,
/// <c>rollout/accuracy</c> and <c>eval/accuracy</c> over steps, with the warm start's loss per batch (<c>sft.csv</c>) in
/// a panel below when there was one, re-rendered every
/// <see cref="RunArtifactsOptions.PlotEveryNSteps"/> steps and on dispose;</item>
/// <item><c>trajectories/trajectories.NNNN.jsonl</c> — <see cref="TrajectoryLogWriter"/> of <see cref="TrajectoryRecord"/>s
/// (readable JSON, <c>agentrl runs show</c> prints them);</item>
/// <item><c>groups.csv</c> — <see cref="TrainedGroupsLog"/>, the groups each step trained on and their token versions;</item>
/// <item><c>sft.csv</c> — <see cref="SftLogWriter"/>, the warm start's loss per batch (also in TensorBoard as
/// <c>warmstart/loss</c> and <c>warmstart/learning_rate</c> over batches).</item>
/// </list>
/// Thread-safe. Write failures surface as <see cref="ArtifactWriteException"/>; the caller decides
/// whether a run goes on without its artifacts.
/// </summary>
public sealed class RunArtifacts : IDisposable
{
    public const string TrajectoryDirectoryName = "trajectories";

    /// <summary>The wall-clock metrics' file.</summary>
    public const string TimingsFileName = "timings.csv";

    private readonly RunArtifactsOptions _options;
    private readonly MetricsCsvWriter _csv;
    private readonly MetricsCsvWriter _timings;
    private readonly TensorBoardWriter _tensorBoard;
    private readonly TrajectoryLogWriter _trajectories;
    private readonly TrainedGroupsLog _groups;
    private readonly TrainingPlot _plot;
    private SftLogWriter? _sft;
    private readonly List<(int Batch, double Loss)> _sftLoss = [];
    private readonly Lock _gate = new();
    private int _stepsSincePlot;
    private bool _disposed;

    /// <summary>Creates the run directory when missing and opens (or resumes) every writer.</summary>
    /// <exception cref="ArgumentException">Invalid options.</exception>
    /// <exception cref="ArtifactWriteException">The directory or a file could not be written.</exception>
    public RunArtifacts(string runDirectory, RunArtifactsOptions? options = null)
    {
        _options = options ?? new RunArtifactsOptions();
        _options.Validate();
        RunDirectory = Path.GetFullPath(runDirectory);

        var opened = new List<IDisposable>();
        try
        {
            _csv = new MetricsCsvWriter(Path.Combine(RunDirectory, MetricsCsvWriter.FileName), _options.ResumeAfterStep);
            opened.Add(_csv);
            _timings = new MetricsCsvWriter(Path.Combine(RunDirectory, TimingsFileName), _options.ResumeAfterStep, [MetricColumns.Step]);
            opened.Add(_timings);
            _tensorBoard = new TensorBoardWriter(RunDirectory, _options.HostName);
            opened.Add(_tensorBoard);
            _trajectories = new TrajectoryLogWriter(
                Path.Combine(RunDirectory, TrajectoryDirectoryName), _options.TrajectoryMaxBytesPerFile);
            opened.Add(_trajectories);
            _groups = new TrainedGroupsLog(RunDirectory, _options.ResumeAfterStep);
            opened.Add(_groups);

            // A resumed run plots its earlier steps too.
            _plot = new TrainingPlot(_options.PlotTitle ?? Path.GetFileName(RunDirectory.TrimEnd(Path.DirectorySeparatorChar)));
            foreach (var row in MetricsCsvWriter.Read(_csv.Path))
            {
                AddToPlot(row.Step, column => row.Values.TryGetValue(column, out var v) ? v : null);
            }
            _sftLoss.AddRange(SftLogWriter.Read(Path.Combine(RunDirectory, SftLogWriter.FileName)).Select(b => (b.Batch, b.Loss)));
            _plot.SetWarmStartLoss(_sftLoss);
        }
        catch
        {
            opened.ForEach(d => d.Dispose());
            throw;
        }
    }

    public string RunDirectory { get; }

    public string MetricsCsvPath => _csv.Path;

    public string TimingsCsvPath => _timings.Path;

    public string TensorBoardEventFilePath => _tensorBoard.Path;

    public string PlotPath => Path.Combine(RunDirectory, TrainingPlot.FileName);

    public string TrajectoryDirectory => Path.Combine(RunDirectory, TrajectoryDirectoryName);

    /// <summary>
    /// Records one step's metrics (keys are stable metric names, see <see cref="MetricColumns"/>):
    /// a row of <c>metrics.csv</c> and one of <c>timings.csv</c> (the wall-clock metrics), a TensorBoard event, and every
    /// <see cref="RunArtifactsOptions.PlotEveryNSteps"/> steps the plot.
    /// </summary>
    public void RecordStep(long step, IReadOnlyDictionary<string, double> metrics)
    {
        RecordValues(step, metrics);
        RecordTimings(step, metrics);
    }

    /// <summary>
    /// The part of <see cref="RecordStep"/> that is not wall-clock: the <c>metrics.csv</c> row, its TensorBoard scalars and
    /// the plot. An RL step writes it before its checkpoint commits the step, so a silo lost in between leaves a row past
    /// the checkpoint, which the resumed run drops and writes again; written after, the row would be lost.
    /// </summary>
    public void RecordValues(long step, IReadOnlyDictionary<string, double> metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var values = metrics.Where(m => !MetricColumns.IsWallClock(m.Key)).ToDictionary(StringComparer.Ordinal);
            _csv.Append(step, values);
            var byColumn = WriteScalars(step, values);
            AddToPlot(step, column => byColumn.TryGetValue(column, out var v) ? v : null);
            if (++_stepsSincePlot >= _options.PlotEveryNSteps)
            {
                RenderPlotLocked();
            }
        }
    }

    /// <summary>The wall-clock part of <see cref="RecordStep"/>: the <c>timings.csv</c> row (none without such metrics) and its TensorBoard scalars.</summary>
    public void RecordTimings(long step, IReadOnlyDictionary<string, double> metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var timings = metrics.Where(m => MetricColumns.IsWallClock(m.Key)).ToDictionary(StringComparer.Ordinal);
            if (timings.Count > 0)
            {
                _timings.Append(step, timings);
                WriteScalars(step, timings);
            }
        }
    }

    /// <summary>TensorBoard scalars of one step (tags are the stable names); returns the values by CSV column.</summary>
    private Dictionary<string, double> WriteScalars(long step, IReadOnlyDictionary<string, double> metrics)
    {
        var byColumn = metrics.ToDictionary(m => MetricColumns.ToColumn(m.Key), m => m.Value, StringComparer.Ordinal);
        _tensorBoard.WriteScalars(
            step,
            byColumn.Select(m => KeyValuePair.Create(MetricColumns.ToMetricName(m.Key), m.Value))
                .OrderBy(m => m.Key, StringComparer.Ordinal));
        return byColumn;
    }

    /// <summary>The groups step <paramref name="step"/> trained on, to <c>groups.csv</c>.</summary>
    public void RecordGroups(long step, IEnumerable<EpisodeResult> groups)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _groups.Append(step, groups);
        }
    }

    /// <summary>The equal-time baseline's curve in the plot (<see cref="TrainingPlot.SetBaseline"/>), rendered at once.</summary>
    public void RecordBaseline(long lastStep, double warmStartAccuracy, double baselineAccuracy)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _plot.SetBaseline(lastStep, warmStartAccuracy, baselineAccuracy);
            RenderPlotLocked();
        }
    }

    /// <summary>A warm start begins: <c>sft.csv</c> starts afresh.</summary>
    public void BeginWarmStart()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _sft?.Dispose();
            _sft = null;
            _sft = new SftLogWriter(RunDirectory);
            _sftLoss.Clear();
            _plot.SetWarmStartLoss(_sftLoss);
        }
    }

    /// <summary>Records warm-start batches: rows of <c>sft.csv</c> and TensorBoard scalars at x = batch.</summary>
    public void RecordWarmStartBatches(IReadOnlyList<SftBatchRecord> batches)
    {
        ArgumentNullException.ThrowIfNull(batches);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (batches.Count == 0)
            {
                return;
            }

            (_sft ??= new SftLogWriter(RunDirectory)).Append(batches);
            foreach (var b in batches)
            {
                _tensorBoard.WriteScalars(b.Batch, [new("warmstart/learning_rate", b.LearningRate), new("warmstart/loss", b.Loss)]);
            }
            _sftLoss.AddRange(batches.Select(b => (b.Batch, b.Loss)));
            _plot.SetWarmStartLoss(_sftLoss);
        }
    }

    /// <summary>Appends a sampled trajectory (any JSON-serializable record) to the trajectory log.</summary>
    public void RecordTrajectory<T>(T trajectory)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
        }
        _trajectories.Write(trajectory);
    }

    /// <summary>
    /// Appends the first <paramref name="count"/> of a step's trajectories to the trajectory log as
    /// <see cref="TrajectoryRecord"/>s: tree position, the item's gold answer (from <paramref name="itemOf"/>, by group id),
    /// reward and its parts, conversation, and the tokens last. When a group of the step is a rollout tree that branched
    /// (ARPO / AEPO: one of its trajectories forked from another), every trajectory of the first such group is logged
    /// instead, so that a tree can be read back whole.
    /// </summary>
    public void RecordSamples(int step, IEnumerable<Trajectory> trajectories, Func<string, TaskItem?>? itemOf = null, int count = 2)
    {
        foreach (var t in Samples([.. trajectories], count))
        {
            RecordTrajectory(itemOf?.Invoke(t.GroupId) is { } item ? TrajectoryRecord.From(step, t, item.Id, item.Answer) : TrajectoryRecord.From(step, t));
        }
    }

    /// <summary>The trajectories <see cref="RecordSamples"/> logs: the first group that branched, whole, else the first <paramref name="count"/>.</summary>
    public static IReadOnlyList<Trajectory> Samples(IReadOnlyList<Trajectory> trajectories, int count)
    {
        ArgumentNullException.ThrowIfNull(trajectories);
        var tree = trajectories.FirstOrDefault(t => t.ParentPath is not null)?.GroupId;
        return tree is null ? [.. trajectories.Take(count)] : [.. trajectories.Where(t => t.GroupId == tree)];
    }

    /// <summary>Renders <c>training.png</c> now.</summary>
    public void RenderPlot()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            RenderPlotLocked();
        }
    }

    /// <summary>Renders the plot if steps were recorded since the last render, then closes every file.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            try
            {
                if (_stepsSincePlot > 0)
                {
                    RenderPlotLocked();
                }
            }
            finally
            {
                _csv.Dispose();
                _timings.Dispose();
                _tensorBoard.Dispose();
                _trajectories.Dispose();
                _groups.Dispose();
                _sft?.Dispose();
            }
        }
    }

    private void RenderPlotLocked()
    {
        _plot.Save(PlotPath, _options.PlotWidth, _options.PlotHeight);
        _stepsSincePlot = 0;
    }

    private void AddToPlot(long step, Func<string, double?> byColumn) =>
        _plot.Add(
            step,
            byColumn(MetricColumns.ToColumn(MetricColumns.RewardMean)),
            byColumn(MetricColumns.ToColumn(MetricColumns.Accuracy)),
            byColumn(MetricColumns.ToColumn(MetricColumns.EvalAccuracy)));
}
