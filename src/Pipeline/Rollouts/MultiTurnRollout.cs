using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Tools;
using AgentRl.Policy.Chat;
using AgentRl.Tools.Catalog;
using AgentRl.Tools.Parsing;

namespace AgentRl.Pipeline.Rollouts;

/// <summary>
/// The multi-turn loop of one trajectory, as a plain class so that it runs (and is tested) without a cluster:
/// generate until a tool-call close tag, end of turn, EOS or the token budget; parse the calls; run them; append the
/// observation tokens (loss mask 0) as the chat template's exact delta; repeat up to the turn and context budgets.
/// Token in, token out: the trajectory holds the ids the model produced and the ids appended, never re-tokenized.
/// </summary>
public sealed class MultiTurnRollout(IChatTemplate template, ToolCallParser parser, RolloutLimits limits, long minPolicyVersion = 0)
{
    /// <summary>Generates a continuation of a prefix.</summary>
    public delegate Task<GenerateResponse> Generate(GenerateRequest request, CancellationToken cancellationToken);

    /// <summary>Runs a well-formed tool call; never throws for a bad call.</summary>
    public delegate Task<ToolObservation> InvokeTool(ToolCall call, CancellationToken cancellationToken);

    public async Task<Trajectory> RunAsync(
        string groupId,
        string branchPath,
        string? systemPrompt,
        string userPrompt,
        IReadOnlyList<ToolSpec> tools,
        SamplingSettings sampling,
        int seed,
        Generate generate,
        InvokeTool invoke,
        CancellationToken cancellationToken = default,
        Trajectory? parent = null,
        int forkPosition = 0)
    {
        var prompt = template.Start(systemPrompt, tools, userPrompt);
        var state = new State(prompt);
        var conversation = new List<ChatMessage>();
        var messageEnds = new List<int>();
        if (systemPrompt is not null)
        {
            conversation.Add(ChatMessage.System(systemPrompt));
            messageEnds.Add(prompt.Length);
        }

        conversation.Add(ChatMessage.User(userPrompt));
        messageEnds.Add(prompt.Length);
        var records = new List<ToolCallRecord>();
        var entropyAfterTools = new List<float>();
        float initialEntropy = 0;
        FinishReason finish;
        string? error = null;
        var turn = 0;
        if (parent is not null)
        {
            if (!IsForkPoint(parent, forkPosition) || !parent.TokenIds.AsSpan(0, prompt.Length).SequenceEqual(prompt))
            {
                throw new ArgumentException($"Position {forkPosition} is not the end of a tool result of trajectory {parent.BranchPath} for this prompt.", nameof(forkPosition));
            }

            state.Truncate(parent, forkPosition);
            records.AddRange(parent.ToolCalls.Where(c => c.ObservationStart + c.ObservationLength <= forkPosition));
            turn = records.Select(c => c.ObservationStart).Distinct().Count();
            initialEntropy = parent.InitialEntropy;
            entropyAfterTools.AddRange(parent.EntropyAfterToolResults.Take(turn - 1));
            conversation.Clear();
            messageEnds.Clear();
            for (var i = 0; i < parent.Conversation.Count && parent.MessageEnds[i] <= forkPosition; i++)
            {
                conversation.Add(parent.Conversation[i]);
                messageEnds.Add(parent.MessageEnds[i]);
            }
        }

        while (true)
        {
            if (turn >= limits.MaxTurns)
            {
                finish = FinishReason.MaxTurns;
                break;
            }

            var room = limits.ContextBudget - state.Length;
            if (room <= 0)
            {
                finish = FinishReason.ContextBudget;
                break;
            }

            GenerateResponse response;
            try
            {
                response = await generate(
                    new GenerateRequest(state.Ids.ToArray(), Math.Min(limits.MaxNewTokensPerTurn, room), sampling, unchecked((seed * 1_000_003) + turn), template.StopTokenIds, template.StopStrings, minPolicyVersion),
                    cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                finish = FinishReason.Cancelled;
                break;
            }

            state.AppendGenerated(response);
            var window = MeanOfFirst(response.Entropies, limits.EntropyWindow);
            if (turn == 0)
            {
                initialEntropy = window;
            }
            else
            {
                entropyAfterTools.Add(window);
            }

            var text = template.Tokenizer.Decode(response.TokenIds);
            var endsWithToolCall = response.TokenIds.Length > 0 && response.TokenIds[^1] == template.ToolCallEndId;
            if (response.FinishReason == FinishReason.Cancelled)
            {
                conversation.Add(ChatMessage.Assistant(StripMarkers(text)));
                messageEnds.Add(state.Length);
                finish = FinishReason.Cancelled;
                break;
            }

            if (!endsWithToolCall)
            {
                conversation.Add(ChatMessage.Assistant(StripMarkers(text)));
                messageEnds.Add(state.Length);
                finish = response.FinishReason == FinishReason.Stop ? FinishReason.Eos
                    : state.Length >= limits.ContextBudget ? FinishReason.ContextBudget
                    : FinishReason.Length;
                break;
            }

            var parsed = parser.Parse(text);
            var observations = new List<ToolObservation>();
            foreach (var call in parsed.Calls)
            {
                ToolObservation observation;
                var invoked = false;
                if (call.IsMalformed)
                {
                    observation = ParsedToolCallExtensions.MalformedObservation(call);
                }
                else if (records.Count >= limits.MaxToolCalls)
                {
                    observation = new ToolObservation(call.Call.Name, $"Tool-call limit reached ({limits.MaxToolCalls} per episode); answer now.", true, "tool_call_limit", 0);
                }
                else
                {
                    observation = await invoke(call.Call, cancellationToken);
                    invoked = true;
                }

                observations.Add(observation);
                records.Add(new ToolCallRecord(call.Call.Name, call.Call.ArgumentsJson, observation.Text, observation.IsError, observation.ErrorKind, observation.LatencyMs, 0, 0, Invoked: invoked));
            }

            if (observations.Count == 0)
            {
                // A close tag with no parsable block: tell the model, as an observation, rather than end silently.
                var observation = new ToolObservation("", "No tool call found before </tool_call>.", true, ToolErrorKinds.BadJson, 0);
                observations.Add(observation);
                records.Add(new ToolCallRecord("", text, observation.Text, true, observation.ErrorKind, 0, 0, 0, Invoked: false));
            }

            conversation.Add(new ChatMessage(ChatRole.Assistant, parsed.Content, parsed.Calls.Where(c => !c.IsMalformed).Select(c => c.Call).ToList()));
            messageEnds.Add(state.Length);
            var delta = template.ToolResults(response.TokenIds, observations.Select(o => new ToolResult(o.ToolName, o.Text)).ToList());
            if (state.Length + delta.Length >= limits.ContextBudget)
            {
                // The observations do not fit: the trajectory ends with the call, and holds no record of results the
                // model never saw.
                records.RemoveRange(records.Count - observations.Count, observations.Count);
                finish = FinishReason.ContextBudget;
                break;
            }

            conversation.AddRange(observations.Select(o => ChatMessage.Tool(o.ToolName, o.Text)));

            var start = state.Length;
            state.AppendObservation(delta);
            messageEnds.AddRange(Enumerable.Repeat(state.Length, observations.Count));
            for (var i = records.Count - observations.Count; i < records.Count; i++)
            {
                records[i] = records[i] with { ObservationStart = start, ObservationLength = delta.Length };
            }

            turn++;
        }

        return new Trajectory
        {
            GroupId = groupId,
            BranchPath = branchPath,
            ParentPath = parent?.BranchPath,
            ForkPosition = parent is null ? null : forkPosition,
            Depth = parent is null ? 0 : parent.Depth + 1,
            TokenIds = [.. state.Ids],
            PromptLength = prompt.Length,
            LossMask = [.. state.Mask],
            Logprobs = [.. state.Logprobs],
            Entropies = [.. state.Entropies],
            TopLogprobEntropies = sampling.TopLogprobs > 0 ? [.. state.TopLogprobEntropies] : null,
            PolicyVersions = [.. state.Versions],
            ToolCalls = records,
            FinishReason = finish,
            Error = error,
            Conversation = conversation,
            EntropyAfterToolResults = entropyAfterTools,
            InitialEntropy = initialEntropy,
            MessageEnds = [.. messageEnds],
        };
    }

    /// <summary>The parent's calls that reached its sandbox before <paramref name="forkPosition"/>, in order: what a child's sandbox replays.</summary>
    public static IReadOnlyList<ToolCallRecord> ReplayHistory(Trajectory parent, int forkPosition) =>
        [.. parent.ToolCalls.Where(c => c.Invoked && c.ObservationLength > 0 && c.ObservationStart + c.ObservationLength <= forkPosition)];

    /// <summary>Replayed calls whose observation (text or error flag) differs from the recorded one.</summary>
    public static int CountMismatches(IReadOnlyList<ToolCallRecord> recorded, IReadOnlyList<ToolObservation> replayed)
    {
        var mismatches = Math.Abs(recorded.Count - replayed.Count);
        for (var i = 0; i < Math.Min(recorded.Count, replayed.Count); i++)
        {
            if (!string.Equals(recorded[i].Observation, replayed[i].Text, StringComparison.Ordinal) || recorded[i].IsError != replayed[i].IsError)
            {
                mismatches++;
            }
        }

        return mismatches;
    }

    /// <summary>Whether a position is the end of one of a trajectory's tool-result observations (a legal fork point).</summary>
    public static bool IsForkPoint(Trajectory trajectory, int position) =>
        position > 0 && trajectory.MessageEnds.Length == trajectory.Conversation.Count
        && trajectory.ToolCalls.Any(c => c.ObservationLength > 0 && c.ObservationStart + c.ObservationLength == position);

    private static float MeanOfFirst(float[] values, int k)
    {
        var n = Math.Min(k, values.Length);
        if (n == 0)
        {
            return 0;
        }

        double sum = 0;
        for (var i = 0; i < n; i++)
        {
            sum += values[i];
        }

        return (float)(sum / n);
    }

    /// <summary>The assistant's text without the chat template's end-of-turn marker, as a reward function reads it.</summary>
    private string StripMarkers(string text)
    {
        foreach (var stop in template.StopStrings)
        {
            if (text.EndsWith(stop, StringComparison.Ordinal))
            {
                return text[..^stop.Length];
            }
        }

        return text;
    }

    private sealed class State(int[] prompt)
    {
        public List<int> Ids { get; } = [.. prompt];
        public List<byte> Mask { get; } = [.. new byte[prompt.Length]];
        public List<float> Logprobs { get; } = [.. new float[prompt.Length]];
        public List<float> Entropies { get; } = [.. new float[prompt.Length]];
        public List<float> TopLogprobEntropies { get; } = [.. new float[prompt.Length]];
        public List<long> Versions { get; } = [.. Enumerable.Repeat(-1L, prompt.Length)];

        public int Length => Ids.Count;

        public void Truncate(Trajectory parent, int length)
        {
            Ids.Clear();
            Ids.AddRange(parent.TokenIds.AsSpan(0, length));
            Mask.Clear();
            Mask.AddRange(parent.LossMask.AsSpan(0, length));
            Logprobs.Clear();
            Logprobs.AddRange(parent.Logprobs.AsSpan(0, length));
            Entropies.Clear();
            Entropies.AddRange(parent.Entropies.AsSpan(0, length));
            TopLogprobEntropies.Clear();
            TopLogprobEntropies.AddRange(parent.TopLogprobEntropies is { } top ? top.AsSpan(0, length) : new float[length]);
            Versions.Clear();
            Versions.AddRange(parent.PolicyVersions.AsSpan(0, length));
        }

        public void AppendGenerated(GenerateResponse response)
        {
            Ids.AddRange(response.TokenIds);
            Mask.AddRange(Enumerable.Repeat((byte)1, response.TokenIds.Length));
            Logprobs.AddRange(response.Logprobs);
            Entropies.AddRange(response.Entropies);
            TopLogprobEntropies.AddRange(response.TopLogprobEntropies ?? new float[response.TokenIds.Length]);
            Versions.AddRange(response.PolicyVersions);
        }

        public void AppendObservation(int[] delta)
        {
            Ids.AddRange(delta);
            Mask.AddRange(new byte[delta.Length]);
            Logprobs.AddRange(new float[delta.Length]);
            Entropies.AddRange(new float[delta.Length]);
            TopLogprobEntropies.AddRange(new float[delta.Length]);
            Versions.AddRange(Enumerable.Repeat(-1L, delta.Length));
        }
    }
}
