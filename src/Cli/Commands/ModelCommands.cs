using System.CommandLine;
using AgentRl.Policy.HuggingFace;
using AgentRl.Policy.Model;
using AgentRl.Policy.Tokenization;

namespace AgentRl.Cli.Commands;

/// <summary><c>agentrl model …</c>: local model files (no cluster needed).</summary>
public static class ModelCommands
{
    public static Command Create()
    {
        var model = new Command("model", "Work with Hugging Face model directories.");
        model.Subcommands.Add(Tokenize());
        model.Subcommands.Add(Inspect());
        model.Subcommands.Add(Init());
        return model;
    }

    private static Command Tokenize()
    {
        var dir = new Option<string>("--model") { Description = "Model directory with tokenizer.json.", Required = true };
        var noSpecial = new Option<bool>("--no-special") { Description = "Treat special-token text as plain text." };
        var text = new Argument<string>("text") { Description = "The text to tokenize." };
        var command = new Command("tokenize", "Print the token ids of a text.") { dir, noSpecial, text };
        command.SetAction(parse => Run(() =>
        {
            var tokenizer = TokenizerLoader.Load(parse.GetValue(dir)!);
            var ids = tokenizer.Encode(parse.GetValue(text)!, allowSpecial: !parse.GetValue(noSpecial));
            Console.WriteLine(string.Join(' ', ids));
        }));
        return command;
    }

    private static Command Inspect()
    {
        var dir = new Argument<string>("dir") { Description = "Model directory." };
        var command = new Command("inspect", "List a checkpoint's configuration and tensors (names, dtypes, shapes).") { dir };
        command.SetAction(parse => Run(() =>
        {
            var path = parse.GetValue(dir)!;
            var config = HfJson.ReadModelConfig(Path.Combine(path, "config.json"));
            Console.WriteLine($"{config.ModelType}: hidden {config.HiddenSize}, layers {config.NumHiddenLayers}, heads {config.NumAttentionHeads}/{config.KeyValueHeads}, vocab {config.VocabSize}, tied {config.TieWordEmbeddings}");
            long total = 0;
            foreach (var tensor in HfCheckpoint.Inspect(path))
            {
                total += tensor.ElementCount;
                Console.WriteLine($"{tensor.Name,-60} {tensor.Dtype,-5} [{string.Join(", ", tensor.Shape)}]");
            }

            Console.WriteLine($"parameters: {total:N0}");
        }));
        return command;
    }

    private static Command Init()
    {
        var preset = new Option<string>("--preset") { Description = "tiny or small.", DefaultValueFactory = _ => "tiny" };
        var seed = new Option<long>("--seed") { Description = "Seed of the random initialisation.", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out") { Description = "Directory to write.", Required = true };
        var command = new Command("init", "Write a randomly initialised model with the byte-level tokenizer in Hugging Face layout.") { preset, seed, output };
        command.SetAction(parse => Run(() =>
        {
            using var model = new CausalLanguageModel(ModelConfig.Named(parse.GetValue(preset)!));
            model.InitializeWeights(seed: parse.GetValue(seed));
            PolicyLoader.Save(parse.GetValue(output)!, model, new ByteLevelTokenizer());
            Console.WriteLine($"wrote {parse.GetValue(output)}");
        }));
        return command;
    }

    private static int Run(Action body)
    {
        try
        {
            body();
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or FormatException or InvalidDataException or NotSupportedException or System.Text.Json.JsonException or WeightMismatchException)
        {
            Console.Error.WriteLine($"agentrl: {e.Message}");
            return 1;
        }
    }
}
