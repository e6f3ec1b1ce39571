using AgentRl.Abstractions.Tasks;
using AgentRl.Grains.Tools;
using AgentRl.Policy.Chat;
using AgentRl.Policy.Tokenization;
using AgentRl.Tasks;
using AgentRl.Tasks.Demonstrations;
using AgentRl.Tools.Catalog;
using Orleans.Concurrency;

namespace AgentRl.Grains.Tasks;

/// <summary>
/// Lists, checks and samples the silo's tasks (<see cref="TaskCatalog"/>). A stateless worker: it holds nothing, every silo
/// has the same registry (the same configuration), and sampling runs tools, so calls spread over local activations.
/// </summary>
[StatelessWorker]
public sealed class TaskCatalogGrain(TaskCatalog tasks, ToolRuntime tools) : Grain, ITaskCatalogGrain
{
    public Task<IReadOnlyList<CatalogTask>> GetTasksAsync(CancellationToken cancellationToken = default) => Task.FromResult(tasks.List());

    public Task<string?> ValidateAsync(string task, IReadOnlyDictionary<string, string>? options = null, bool warmStart = false, CancellationToken cancellationToken = default) =>
        Task.FromResult(tasks.Problem(task, options, warmStart));

    public Task<IReadOnlyList<string>> GetItemsAsync(string task, IReadOnlyDictionary<string, string>? options, bool eval, int count, int seed, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        IReadOnlyList<string> items = [.. tasks.Get(task, options).Generate(eval ? TaskSplit.Eval : TaskSplit.Train, count, seed).Select(TaskCatalog.ToJson)];
        return Task.FromResult(items);
    }

    public async Task<IReadOnlyList<TaskSample>> SampleAsync(TaskSampleRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Count is < 1 or > TaskSampleRequest.MaxCount)
        {
            throw new ArgumentException($"count must be in 1..{TaskSampleRequest.MaxCount}, got {request.Count}.", nameof(request));
        }

        var chat = request.Template is { } template ? ChatTemplates.Create(template, new ByteLevelTokenizer()) : null;
        var task = tasks.Get(request.Task, request.Options);
        var samples = new List<TaskSample>();
        foreach (var item in task.Generate(request.Eval ? TaskSplit.Eval : TaskSplit.Train, request.Count, request.Seed))
        {
            var context = task.GetToolContext(item);
            using var session = tools.Catalog.OpenSession(context.AllowedTools, new ToolSessionContext { KnowledgeBase = context.Documents });
            Demonstration? demonstration = null;
            string? problem = null;
            try
            {
                demonstration = await task.BuildDemonstrationAsync(item, session, cancellationToken: cancellationToken);
            }
            catch (InvalidOperationException e)
            {
                problem = e.Message;
            }

            samples.Add(new TaskSample(
                item.Id,
                item.Split == TaskSplit.Eval ? "eval" : "train",
                item.Prompt,
                item.Answer,
                item.Documents.Count,
                TaskCatalog.ToJson(item),
                demonstration?.Messages,
                session.Tools,
                demonstration?.ToolResultsAgree ?? false,
                problem,
                demonstration is null ? null : chat?.Render(demonstration.Messages, session.Tools, false)));
        }

        return samples;
    }
}
