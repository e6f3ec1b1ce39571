using System.Text;
using AgentRl.Abstractions.Chat;
using AgentRl.Policy.Chat;

namespace AgentRl.Policy.Training;

/// <summary>
/// Synthetic "repeat this string" examples for the warm start of a randomly initialised model: the user turn is a random
/// string over an alphabet, the assistant turn repeats it. A pretrained language model arrives with copying circuits
/// (induction heads); a random tiny model does not, and without them it never learns to copy an expression from the
/// prompt into its tool call or a result from a tool response into its answer. Short echo examples mixed into the
/// demonstrations grow that circuit quickly (attention over ~20 tokens instead of ~200), and the demonstrations then use it.
/// </summary>
public static class EchoExamples
{
    /// <summary>
    /// <paramref name="count"/> examples, rendered exactly as a conversation without system prompt or tools: the assistant
    /// turn (mask 1) repeats the user text, whose length is drawn from <paramref name="minLength"/>..<paramref name="maxLength"/>.
    /// </summary>
    public static IReadOnlyList<SftExample> Build(IChatTemplate template, string alphabet, int count, int seed, int minLength = 3, int maxLength = 12)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentException.ThrowIfNullOrEmpty(alphabet);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(minLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, minLength);
        var random = new Random(seed);
        var examples = new List<SftExample>(count);
        var text = new StringBuilder(maxLength);
        for (var n = 0; n < count; n++)
        {
            text.Clear();
            var length = random.Next(minLength, maxLength + 1);
            for (var i = 0; i < length; i++)
            {
                text.Append(alphabet[random.Next(alphabet.Length)]);
            }

            var echo = text.ToString();
            var prompt = template.Start(null, [], echo);
            var answer = template.EncodeAssistantTurn(ChatMessage.Assistant(echo));
            var ids = new int[prompt.Length + answer.Length];
            prompt.CopyTo(ids, 0);
            answer.CopyTo(ids, prompt.Length);
            var mask = new byte[ids.Length];
            mask.AsSpan(prompt.Length).Fill(1);
            examples.Add(new SftExample(ids, mask));
        }

        return examples;
    }

    /// <summary>
    /// A copy drill on a real conversation: <paramref name="messages"/> with its last tool result redrawn at random
    /// (<see cref="Redraw"/>) and the final answer quoting the new result where it quoted the old one. A tiny model that
    /// has seen each result with the question that produced it can learn to answer from the question instead of from the
    /// result (it answers 2720 after the calculator said 2937); in the redrawn copy only the result predicts the
    /// answer. Null when the conversation does not end in an answer quoting its last tool result, or when the redraw
    /// left the result unchanged.
    /// </summary>
    public static IReadOnlyList<ChatMessage>? WithRedrawnToolResult(IReadOnlyList<ChatMessage> messages, Random rng)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentNullException.ThrowIfNull(rng);
        var tool = messages.Count - 1;
        while (tool >= 0 && messages[tool].Role != ChatRole.Tool)
        {
            tool--;
        }

        var last = messages.Count - 1;
        if (tool < 0 || last <= tool || messages[last].Role != ChatRole.Assistant)
        {
            return null;
        }

        var result = messages[tool].Content;
        if (result.Length == 0 || !messages[last].Content.Contains(result, StringComparison.Ordinal))
        {
            return null;
        }

        var redrawn = Redraw(result, rng);
        if (redrawn == result)
        {
            return null;
        }

        var copy = messages.ToArray();
        copy[tool] = copy[tool] with { Content = redrawn };
        copy[last] = copy[last] with { Content = copy[last].Content.Replace(result, redrawn, StringComparison.Ordinal) };
        return copy;
    }

    /// <summary>
    /// <paramref name="text"/> with every digit and ASCII letter drawn again from its own class (a run of digits keeps a
    /// non-zero first digit, so a number stays a number of the same length); every other character, a sign or a space,
    /// stays.
    /// </summary>
    public static string Redraw(string text, Random rng)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(rng);
        var chars = text.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            var c = chars[i];
            var runStart = char.IsAsciiDigit(c) && (i == 0 || !char.IsAsciiDigit(text[i - 1]));
            var runLong = i + 1 < text.Length && char.IsAsciiDigit(text[i + 1]);
            chars[i] = c switch
            {
                _ when char.IsAsciiDigit(c) => (char)('0' + (runStart && runLong ? rng.Next(1, 10) : rng.Next(10))),
                _ when char.IsAsciiLetterLower(c) => (char)('a' + rng.Next(26)),
                _ when char.IsAsciiLetterUpper(c) => (char)('A' + rng.Next(26)),
                _ => c,
            };
        }

        return new string(chars);
    }

    /// <summary>
    /// The characters a task asks its model to copy, taken from demonstration conversations: the string values of the
    /// tool-call arguments and the tool results (control characters dropped), each once.
    /// </summary>
    public static string Alphabet(IEnumerable<IReadOnlyList<ChatMessage>> conversations) =>
        string.Concat(CopiedStrings(conversations).SelectMany(text => text).Distinct());

    /// <summary>
    /// The shortest and longest string a task asks its model to copy (the strings <see cref="Alphabet"/> reads), for echo
    /// examples of the lengths the task needs; null when there are none.
    /// </summary>
    public static (int Min, int Max)? CopyLengths(IEnumerable<IReadOnlyList<ChatMessage>> conversations)
    {
        var lengths = CopiedStrings(conversations).Select(text => text.Length).Where(length => length > 0).ToList();
        return lengths.Count == 0 ? null : (lengths.Min(), lengths.Max());
    }

    /// <summary>Tool results and tool-call argument values, in order, without control characters and surrogates.</summary>
    private static IEnumerable<string> CopiedStrings(IEnumerable<IReadOnlyList<ChatMessage>> conversations)
    {
        ArgumentNullException.ThrowIfNull(conversations);
        return conversations
            .SelectMany(conversation => conversation)
            .SelectMany(m => m.Role switch
            {
                ChatRole.Tool => [m.Content],
                ChatRole.Assistant => (m.ToolCalls ?? []).SelectMany(call => StringValues(call.ArgumentsJson)),
                _ => [],
            })
            .Select(text => string.Concat(text.Where(c => !char.IsControl(c) && !char.IsSurrogate(c))));
    }

    private static IEnumerable<string> StringValues(string json)
    {
        System.Text.Json.JsonDocument document;
        try
        {
            document = System.Text.Json.JsonDocument.Parse(json);
        }
        catch (System.Text.Json.JsonException)
        {
            yield break;
        }

        using (document)
        {
            var pending = new Stack<System.Text.Json.JsonElement>();
            pending.Push(document.RootElement);
            var values = new List<string>();
            while (pending.Count > 0)
            {
                var element = pending.Pop();
                switch (element.ValueKind)
                {
                    case System.Text.Json.JsonValueKind.String:
                        values.Add(element.GetString()!);
                        break;
                    case System.Text.Json.JsonValueKind.Number:
                        values.Add(element.GetRawText());
                        break;
                    case System.Text.Json.JsonValueKind.Object:
                        foreach (var property in element.EnumerateObject())
                        {
                            pending.Push(property.Value);
                        }

                        break;
                    case System.Text.Json.JsonValueKind.Array:
                        foreach (var item in element.EnumerateArray())
                        {
                            pending.Push(item);
                        }

                        break;
                }
            }

            foreach (var value in values)
            {
                yield return value;
            }
        }
    }
}
