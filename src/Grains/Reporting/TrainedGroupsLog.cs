using System.Globalization;
using System.Text;
using AgentRl.Abstractions.Rollouts;

namespace AgentRl.Grains.Reporting;

/// <summary>
/// <c>groups.csv</c>: every group a step trained on, one row each (<c>step,episode,trajectories,oldest_version,newest_version</c>:
/// the episode's key and the oldest and newest policy versions among its generated tokens). In async mode it shows which
/// groups of which steps a batch took and how stale they were; in any mode it lets anyone check that no group was trained
/// twice. A swarm step's rows are its own groups, the ones it rolled out to fill up for missing external groups included,
/// then the external groups it trained as <c>pool:{producer}/{group}</c> (other members' episodes, which a later step may
/// draw again, so "none twice" is about own groups). A resumed run drops the rows after its resume point, as
/// <c>metrics.csv</c> does.
/// </summary>
public sealed class TrainedGroupsLog : IDisposable
{
    public const string FileName = "groups.csv";
    public const string Header = "step,episode,trajectories,oldest_version,newest_version";
    private readonly AppendOnlyFile _file;

    /// <param name="runDirectory">The run's folder.</param>
    /// <param name="resumeAfterStep">Keep the rows up to this step (−1: none); null: keep every row.</param>
    /// <exception cref="ArtifactWriteException">The file could not be read or written.</exception>
    public TrainedGroupsLog(string runDirectory, long? resumeAfterStep)
    {
        var path = System.IO.Path.Combine(runDirectory, FileName);
        var kept = Read(path).Where(r => resumeAfterStep is not { } last || r.Step <= last).ToList();
        try
        {
            File.WriteAllText(path, Header + "\n" + string.Concat(kept.Select(Line)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArtifactWriteException(path, "trained-groups log", e);
        }

        _file = new AppendOnlyFile(path, "trained-groups log");
    }

    public string Path => _file.Path;

    /// <summary>Appends the groups of one step.</summary>
    public void Append(long step, IEnumerable<EpisodeResult> groups)
    {
        var text = new StringBuilder();
        foreach (var group in groups)
        {
            var versions = group.Trajectories.SelectMany(t => t.PolicyVersions.Where((v, i) => t.LossMask[i] != 0 && v >= 0)).DefaultIfEmpty(-1).ToList();
            text.Append(Line(new TrainedGroup(step, group.EpisodeId, group.Trajectories.Count, versions.Min(), versions.Max())));
        }

        _file.Append(Encoding.UTF8.GetBytes(text.ToString()));
    }

    /// <summary>The rows of a <c>groups.csv</c>; none when the file is missing.</summary>
    public static IReadOnlyList<TrainedGroup> Read(string path)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        return [.. File.ReadLines(path).Skip(1).Select(l => l.Split(',')).Where(p => p.Length == 5 && long.TryParse(p[0], CultureInfo.InvariantCulture, out _))
            .Select(p => new TrainedGroup(long.Parse(p[0], CultureInfo.InvariantCulture), p[1], int.Parse(p[2], CultureInfo.InvariantCulture), long.Parse(p[3], CultureInfo.InvariantCulture), long.Parse(p[4], CultureInfo.InvariantCulture)))];
    }

    public void Dispose() => _file.Dispose();

    private static string Line(TrainedGroup g) => string.Create(CultureInfo.InvariantCulture, $"{g.Step},{g.Episode},{g.Trajectories},{g.OldestVersion},{g.NewestVersion}\n");
}

/// <summary>A row of <c>groups.csv</c>.</summary>
public sealed record TrainedGroup(long Step, string Episode, int Trajectories, long OldestVersion, long NewestVersion);
