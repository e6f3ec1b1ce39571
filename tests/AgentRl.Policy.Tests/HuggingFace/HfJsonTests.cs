using System.Text.Json;
using AgentRl.Policy.HuggingFace;

namespace AgentRl.Policy.Tests.HuggingFace;

public sealed class HfJsonTests
{
    /// <summary>config.json of Qwen2.5-0.5B-Instruct as published.</summary>
    private const string Qwen25Config = """
        {
          "architectures": [
            "Qwen2ForCausalLM"
          ],
          "attention_dropout": 0.0,
          "bos_token_id": 151643,
          "eos_token_id": 151645,
          "hidden_act": "silu",
          "hidden_size": 896,
          "initializer_range": 0.02,
          "intermediate_size": 4864,
          "max_position_embeddings": 32768,
          "max_window_layers": 21,
          "model_type": "qwen2",
          "num_attention_heads": 14,
          "num_hidden_layers": 24,
          "num_key_value_heads": 2,
          "rms_norm_eps": 1e-06,
          "rope_scaling": null,
          "rope_theta": 1000000.0,
          "sliding_window": 32768,
          "tie_word_embeddings": true,
          "torch_dtype": "bfloat16",
          "transformers_version": "4.43.1",
          "use_cache": true,
          "use_sliding_window": false,
          "vocab_size": 151936
        }
        """;

    [Fact]
    public void ParseModelConfig_Qwen25Config_GivesPublishedValues()
    {
        var config = HfJson.ParseModelConfig(Qwen25Config);

        Assert.Equal(["Qwen2ForCausalLM"], config.Architectures);
        Assert.Equal("qwen2", config.ModelType);
        Assert.Equal(896, config.HiddenSize);
        Assert.Equal(24, config.NumHiddenLayers);
        Assert.Equal(14, config.NumAttentionHeads);
        Assert.Equal(2, config.KeyValueHeads);
        Assert.Equal(64, config.HeadDim);
        Assert.Equal(4864, config.IntermediateSize);
        Assert.Equal(151936, config.VocabSize);
        Assert.Equal(32768, config.MaxPositionEmbeddings);
        Assert.Equal(1_000_000.0, config.RopeTheta);
        Assert.Equal(1e-6, config.RmsNormEps);
        Assert.True(config.TieWordEmbeddings);
        Assert.True(config.UsesQkvBias);
        Assert.Equal("bfloat16", config.TorchDtype);
        Assert.Equal(151643, config.BosTokenId);
        Assert.Equal([151645], TokenIdList.FromJson(config.EosTokenId)!);
        Assert.Equal(32768, config.Extra!["sliding_window"].GetInt32());
        Assert.False(config.Extra["use_sliding_window"].GetBoolean());
        Assert.Equal(21, config.Extra["max_window_layers"].GetInt32());
        Assert.Equal(JsonValueKind.Null, config.Extra["rope_scaling"].ValueKind);
    }

    [Fact]
    public void WriteModelConfig_ReadBack_PreservesEveryFieldIncludingUnknownOnes()
    {
        using var dir = new TempDirectory();
        var config = HfJson.ParseModelConfig(Qwen25Config);

        HfJson.WriteModelConfig(dir.File("config.json"), config);
        var text = File.ReadAllText(dir.File("config.json"));
        var again = HfJson.ReadModelConfig(dir.File("config.json"));

        AssertSameJson(JsonDocument.Parse(Qwen25Config).RootElement, JsonDocument.Parse(text).RootElement);
        Assert.Equal(config.Extra!.Keys.Order(), again.Extra!.Keys.Order());
        Assert.EndsWith("}\n", text);
        Assert.StartsWith("{\n  \"architectures\": [", text);
        var keys = JsonDocument.Parse(text).RootElement.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(keys.Order(StringComparer.Ordinal), keys);
    }

    [Fact]
    public void WriteModelConfig_UnsetOptionalFields_AreLeftOutNotWrittenAsNull()
    {
        var text = HfJson.Serialize(Qwen2LikeTestModule.Config(tied: true));
        var root = JsonDocument.Parse(text).RootElement;

        Assert.False(root.TryGetProperty("head_dim", out _));
        Assert.False(root.TryGetProperty("attention_bias", out _));
        Assert.False(root.TryGetProperty("eos_token_id", out _));
        Assert.Equal(2, root.GetProperty("num_key_value_heads").GetInt32());
    }

    [Fact]
    public void GenerationConfig_ListAndScalarEos_RoundTripInTheirOwnForm()
    {
        var list = GenerationConfig.Parse("""
            {"bos_token_id": 151643, "do_sample": true, "eos_token_id": [151645, 151643], "pad_token_id": 151643,
             "repetition_penalty": 1.1, "temperature": 0.7, "top_k": 20, "top_p": 0.8, "transformers_version": "4.37.0"}
            """);
        var scalar = GenerationConfig.Parse("""{"eos_token_id": 2, "max_new_tokens": 64}""");

        Assert.Equal([151645, 151643], list.EosTokenIds);
        Assert.Equal(0.7, list.Temperature);
        Assert.Equal(0.8, list.TopP);
        Assert.Equal(20, list.TopK);
        Assert.Equal(151643, list.PadTokenId);
        Assert.True(list.DoSample);
        Assert.Equal("4.37.0", list.Extra!["transformers_version"].GetString());
        Assert.Equal([2], scalar.EosTokenIds);
        Assert.Equal(64, scalar.MaxNewTokens);
        Assert.Null(scalar.Temperature);

        var listRoot = JsonDocument.Parse(HfJson.Serialize(list)).RootElement;
        var scalarRoot = JsonDocument.Parse(HfJson.Serialize(scalar)).RootElement;
        Assert.Equal(JsonValueKind.Array, listRoot.GetProperty("eos_token_id").ValueKind);
        Assert.Equal("4.37.0", listRoot.GetProperty("transformers_version").GetString());
        Assert.Equal(JsonValueKind.Number, scalarRoot.GetProperty("eos_token_id").ValueKind);
        Assert.False(scalarRoot.TryGetProperty("temperature", out _));
    }

    private const string QwenTokenizerConfig = """
        {
          "add_bos_token": false,
          "add_prefix_space": false,
          "added_tokens_decoder": {
            "151643": {"content": "<|endoftext|>", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false, "special": true},
            "151644": {"content": "<|im_start|>", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false, "special": true},
            "151657": {"content": "<tool_call>", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false, "special": false}
          },
          "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
          "bos_token": null,
          "chat_template": "{%- for message in messages %}{{ '<|im_start|>' + message['role'] }}{%- endfor %}",
          "clean_up_tokenization_spaces": false,
          "eos_token": "<|im_end|>",
          "errors": "replace",
          "model_max_length": 131072,
          "pad_token": "<|endoftext|>",
          "split_special_tokens": false,
          "tokenizer_class": "Qwen2Tokenizer",
          "unk_token": null
        }
        """;

    [Fact]
    public void TokenizerConfig_QwenStyleFile_ParsesTokensTemplateAndAddedTokens()
    {
        var config = TokenizerConfig.Parse(QwenTokenizerConfig);

        Assert.Equal("<|im_end|>", config.EosToken);
        Assert.Equal("<|endoftext|>", config.PadToken);
        Assert.Null(config.BosToken);
        Assert.False(config.AddBosToken);
        Assert.Equal("Qwen2Tokenizer", config.TokenizerClass);
        Assert.StartsWith("{%- for message in messages %}", config.ChatTemplate);
        Assert.Equal(["<|im_start|>", "<|im_end|>"], config.AdditionalSpecialTokens!);
        Assert.Equal("<|im_start|>", config.AddedTokens[151644].Content);
        Assert.True(config.AddedTokens[151644].Special);
        Assert.False(config.AddedTokens[151657].Special);
        Assert.Equal(131072, config.ModelMaxLength);

        var again = TokenizerConfig.Parse(HfJson.Serialize(config));
        Assert.Equal(config.ChatTemplate, again.ChatTemplate);
        Assert.Equal(config.AddedTokens.Keys, again.AddedTokens.Keys);
        Assert.Equal(131072, again.ModelMaxLength);
    }

    [Fact]
    public void TokenizerConfig_AddedTokenObjectsAndTemplateList_ReadAsStrings()
    {
        var config = TokenizerConfig.Parse("""
            {"eos_token": {"__type": "AddedToken", "content": "</s>", "lstrip": false},
             "chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]}
            """);

        Assert.Equal("</s>", config.EosToken);
        Assert.Equal("D", config.ChatTemplate);
    }

    [Fact]
    public void TokenizerConfig_FromDirectoryWithTemplateFile_TakesTheJinjaTemplate()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File(TokenizerConfig.FileName), """{"eos_token": "<|im_end|>"}""");
        File.WriteAllText(dir.File(TokenizerConfig.ChatTemplateFileName), "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}");

        var config = TokenizerConfig.ReadFromDirectory(dir.Path)!;

        Assert.Equal("{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}", config.ChatTemplate);
    }

    /// <summary>Same keys and values, numbers compared by value (1000000.0 and 1000000 are one number).</summary>
    private static void AssertSameJson(JsonElement expected, JsonElement actual, string path = "$")
    {
        Assert.True(expected.ValueKind == actual.ValueKind, $"{path}: {expected.ValueKind} vs {actual.ValueKind}");
        switch (expected.ValueKind)
        {
            case JsonValueKind.Object:
                var expectedNames = expected.EnumerateObject().Select(p => p.Name).Order().ToList();
                Assert.Equal(expectedNames, actual.EnumerateObject().Select(p => p.Name).Order().ToList());
                foreach (var name in expectedNames)
                {
                    AssertSameJson(expected.GetProperty(name), actual.GetProperty(name), $"{path}.{name}");
                }
                break;
            case JsonValueKind.Array:
                Assert.Equal(expected.GetArrayLength(), actual.GetArrayLength());
                for (var i = 0; i < expected.GetArrayLength(); i++)
                {
                    AssertSameJson(expected[i], actual[i], $"{path}[{i}]");
                }
                break;
            case JsonValueKind.Number:
                Assert.True(expected.GetDouble() == actual.GetDouble(), $"{path}: {expected} vs {actual}");
                break;
            default:
                Assert.Equal(expected.ToString(), actual.ToString());
                break;
        }
    }
}
