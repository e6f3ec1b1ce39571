using AgentRl.Policy.Model;
using AgentRl.Policy.Tokenization;

namespace AgentRl.Policy.HuggingFace;

/// <summary>Loads a Hugging Face model directory (config.json, safetensors weights, tokenizer.json) as a ready model and tokenizer.</summary>
public static class PolicyLoader
{
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    /// <exception cref="WeightMismatchException">The weights do not fit the configuration.</exception>
    public static (CausalLanguageModel Model, ITokenizer Tokenizer) Load(string directory, TorchSharp.torch.Device? device = null, TorchSharp.torch.ScalarType dtype = TorchSharp.torch.ScalarType.Float32)
    {
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"Model directory '{directory}' does not exist.");
        }

        using var checkpoint = HfCheckpoint.Open(directory);
        var model = new CausalLanguageModel(checkpoint.Config, device, dtype);
        try
        {
            checkpoint.LoadInto(model);
            model.eval();
            return (model, TokenizerLoader.Load(directory));
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Writes <paramref name="model"/> and <paramref name="tokenizer"/> in Hugging Face layout.</summary>
    public static void Save(string directory, CausalLanguageModel model, ByteLevelTokenizer tokenizer, HfSaveOptions? options = null)
    {
        Directory.CreateDirectory(directory);
        tokenizer.Save(directory);
        HfCheckpoint.Save(directory, model.Config, model, options);
    }
}
