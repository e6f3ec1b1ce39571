using AgentRl.Policy.HuggingFace;
using static TorchSharp.torch;

namespace AgentRl.Policy.Tests.HuggingFace;

public sealed class HfCheckpointTests
{
    [Fact]
    public void LoadInto_Qwen2StyleCheckpoint_CopiesEveryValueExactly()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        var config = Qwen2LikeTestModule.Config(tied: false);
        using var source = Qwen2LikeTestModule.Create(config);
        using var target = Qwen2LikeTestModule.Create(config);
        var expected = Qwen2LikeTestModule.Snapshot(source);
        Assert.NotEqual(expected["model.norm.weight"], Qwen2LikeTestModule.Snapshot(target)["model.norm.weight"]);

        HfCheckpoint.Save(dir.Path, config, source);
        using var checkpoint = HfCheckpoint.Open(dir.Path);
        var report = checkpoint.LoadInto(target);

        Assert.Contains("model.layers.1.self_attn.k_proj.bias", checkpoint.Weights.Names);
        Assert.Contains("lm_head.weight", checkpoint.Weights.Names);
        Assert.Equal(3 + (2 * 12), checkpoint.Weights.Names.Count);   // embed, norm, lm_head + per layer q/k/v weight+bias, o, 3 mlp, 2 norms
        Assert.Equal(expected.Keys.Order(), report.Loaded);
        Assert.Empty(report.Missing);
        Assert.Equal(expected, Qwen2LikeTestModule.Snapshot(target));
        Assert.Equal("pt", checkpoint.Weights.Metadata["format"]);
    }

    [Fact]
    public void LoadInto_Bf16Checkpoint_ConvertsToModuleDtype()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        var config = Qwen2LikeTestModule.Config(tied: false);
        using var source = Qwen2LikeTestModule.Create(config);
        using var target = Qwen2LikeTestModule.Create(config);

        HfCheckpoint.Save(dir.Path, config, source, new HfSaveOptions { Dtype = ScalarType.BFloat16 });
        using var checkpoint = HfCheckpoint.Open(dir.Path);
        checkpoint.LoadInto(target);

        Assert.Equal("bfloat16", checkpoint.Config.TorchDtype);
        Assert.All(checkpoint.Weights.Names, n => Assert.Equal(SafetensorsDtype.BF16, checkpoint.Weights.Info(n).Dtype));
        var sourceState = source.state_dict();
        foreach (var (name, value) in target.state_dict())
        {
            Assert.Equal(ScalarType.Float32, value.dtype);
            var rounded = sourceState[name].detach().to(ScalarType.BFloat16).to(ScalarType.Float32);
            Assert.Equal(rounded.data<float>().ToArray(), value.detach().data<float>().ToArray());
        }
    }

    [Fact]
    public void Save_AboveShardSize_WritesShardsAndIndexThatLoadEqualToUnsharded()
    {
        using var single = new TempDirectory();
        using var sharded = new TempDirectory();
        using var scope = NewDisposeScope();
        var config = Qwen2LikeTestModule.Config(tied: false);
        using var source = Qwen2LikeTestModule.Create(config);

        HfCheckpoint.Save(single.Path, config, source);
        HfCheckpoint.Save(sharded.Path, config, source, new HfSaveOptions { MaxShardBytes = 4096 });

        Assert.False(File.Exists(sharded.File("model.safetensors")));
        var index = SafetensorsIndex.Read(sharded.File(SafetensorsIndex.DefaultFileName));
        Assert.True(index.Files.Count > 2);
        Assert.All(index.Files, f => Assert.Matches(@"^model-\d{5}-of-\d{5}\.safetensors$", f));
        Assert.Equal($"of-{index.Files.Count:D5}.safetensors", index.Files[0][^20..]);
        using var a = SafetensorsWeights.Open(single.Path);
        using var b = SafetensorsWeights.Open(sharded.Path);
        Assert.Null(a.Index);
        Assert.Equal(a.TotalBytes, index.TotalSize);
        Assert.Equal(a.Names, b.Names);
        Assert.Equal(a.Names, index.WeightMap.Keys);
        foreach (var name in a.Names)
        {
            Assert.Equal(a.Read(name).bytes.ToArray(), b.Read(name).bytes.ToArray());
        }
        // Every shard but the last stays within the limit unless it holds a single larger tensor.
        foreach (var file in b.Files)
        {
            Assert.True(file.Header.DataLength <= 4096 || file.Header.Tensors.Count == 1);
        }
    }

    [Fact]
    public void Save_UnshardedOverShardedDirectory_RemovesStaleShardsAndIndex()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        var config = Qwen2LikeTestModule.Config(tied: false);
        using var first = Qwen2LikeTestModule.Create(config);
        using var second = Qwen2LikeTestModule.Create(config);

        HfCheckpoint.Save(dir.Path, config, first, new HfSaveOptions { MaxShardBytes = 4096 });
        HfCheckpoint.Save(dir.Path, config, second);
        using var checkpoint = HfCheckpoint.Open(dir.Path);
        using var target = Qwen2LikeTestModule.Create(config);
        checkpoint.LoadInto(target);

        Assert.Equal(["config.json", "model.safetensors"], Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order());
        Assert.Equal(Qwen2LikeTestModule.Snapshot(second), Qwen2LikeTestModule.Snapshot(target));
    }

    [Fact]
    public void LoadInto_MissingAndUnexpectedNames_ThrowsListingEachAndCopiesNothing()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        var config = Qwen2LikeTestModule.Config(tied: false);
        using var source = Qwen2LikeTestModule.Create(config);
        using var target = Qwen2LikeTestModule.Create(config);
        var before = Qwen2LikeTestModule.Snapshot(target);
        var tensors = source.state_dict();
        tensors.Remove("model.layers.1.mlp.up_proj.weight");
        tensors.Remove("model.layers.0.self_attn.q_proj.bias");
        tensors["model.layers.0.self_attn.extra_proj.weight"] = ones(2);

        HfCheckpoint.Save(dir.Path, config, tensors);
        using var checkpoint = HfCheckpoint.Open(dir.Path);
        var error = Assert.Throws<WeightMismatchException>(() => checkpoint.LoadInto(target));

        Assert.Equal(["model.layers.0.self_attn.q_proj.bias", "model.layers.1.mlp.up_proj.weight"], error.Missing);
        Assert.Equal(["model.layers.0.self_attn.extra_proj.weight"], error.Unexpected);
        Assert.Empty(error.ShapeMismatches);
        Assert.Contains("Missing from the checkpoint (2): model.layers.0.self_attn.q_proj.bias, model.layers.1.mlp.up_proj.weight", error.Message);
        Assert.Contains("Unexpected (in the checkpoint, not in the model) (1): model.layers.0.self_attn.extra_proj.weight", error.Message);
        Assert.Equal(before, Qwen2LikeTestModule.Snapshot(target));
    }

    [Fact]
    public void LoadInto_AllowMissing_LoadsTheRestAndReportsMissing()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        var config = Qwen2LikeTestModule.Config(tied: false);
        using var source = Qwen2LikeTestModule.Create(config);
        using var target = Qwen2LikeTestModule.Create(config);
        var kept = Qwen2LikeTestModule.Snapshot(target)["model.norm.weight"];
        var tensors = source.state_dict();
        tensors.Remove("model.norm.weight");

        HfCheckpoint.Save(dir.Path, config, tensors);
        using var checkpoint = HfCheckpoint.Open(dir.Path);
        var report = checkpoint.LoadInto(target, new WeightLoadOptions { AllowMissing = true });

        Assert.Equal(["model.norm.weight"], report.Missing);
        var after = Qwen2LikeTestModule.Snapshot(target);
        Assert.Equal(kept, after["model.norm.weight"]);
        Assert.Equal(Qwen2LikeTestModule.Snapshot(source)["lm_head.weight"], after["lm_head.weight"]);
    }

    [Fact]
    public void LoadInto_ShapeMismatch_ThrowsWithBothShapes()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        var config = Qwen2LikeTestModule.Config(tied: false);
        using var source = Qwen2LikeTestModule.Create(config with { IntermediateSize = 32 });
        using var target = Qwen2LikeTestModule.Create(config);

        HfCheckpoint.Save(dir.Path, config, source);
        using var checkpoint = HfCheckpoint.Open(dir.Path);
        var error = Assert.Throws<WeightMismatchException>(() => checkpoint.LoadInto(target));

        Assert.Equal(6, error.ShapeMismatches.Count);
        Assert.Contains("model.layers.0.mlp.down_proj.weight: checkpoint [16, 32] vs model [16, 24]", error.ShapeMismatches);
        Assert.Empty(error.Missing);
    }

    [Fact]
    public void Save_TiedModel_LeavesOutLmHeadAndLoadFillsItFromEmbedding()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        var config = Qwen2LikeTestModule.Config(tied: true);
        using var source = Qwen2LikeTestModule.Create(config);
        using var target = Qwen2LikeTestModule.Create(config);

        HfCheckpoint.Save(dir.Path, config, source);
        using var checkpoint = HfCheckpoint.Open(dir.Path);
        var report = checkpoint.LoadInto(target);

        Assert.DoesNotContain("lm_head.weight", checkpoint.Weights.Names);
        Assert.True(checkpoint.Config.TieWordEmbeddings);
        Assert.Equal(["lm_head.weight"], report.Tied);
        var after = Qwen2LikeTestModule.Snapshot(target);
        Assert.Equal(Qwen2LikeTestModule.Snapshot(source)["model.embed_tokens.weight"], after["lm_head.weight"]);
    }

    [Fact]
    public void LoadInto_TiedModelWithLmHeadInFile_SkipsTheFileCopy()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        var untied = Qwen2LikeTestModule.Config(tied: false);
        using var source = Qwen2LikeTestModule.Create(untied);
        using var target = Qwen2LikeTestModule.Create(untied with { TieWordEmbeddings = true }, withLmHead: false);

        HfCheckpoint.Save(dir.Path, untied, source);
        using var checkpoint = HfCheckpoint.Open(dir.Path);
        var report = checkpoint.LoadInto(target, new WeightLoadOptions { TieWordEmbeddings = true });

        Assert.Equal(["lm_head.weight"], report.Skipped);
        Assert.Empty(report.Unexpected);
        Assert.Equal(Qwen2LikeTestModule.Snapshot(source)["model.embed_tokens.weight"], Qwen2LikeTestModule.Snapshot(target)["model.embed_tokens.weight"]);
    }

    [Fact]
    public void LoadInto_UntiedModelWithoutLmHeadInFile_ReportsItMissing()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        var tied = Qwen2LikeTestModule.Config(tied: true);
        using var source = Qwen2LikeTestModule.Create(tied);
        using var target = Qwen2LikeTestModule.Create(tied);

        HfCheckpoint.Save(dir.Path, tied, source);
        using var checkpoint = HfCheckpoint.Open(dir.Path);
        var error = Assert.Throws<WeightMismatchException>(() => checkpoint.LoadInto(target, new WeightLoadOptions { TieWordEmbeddings = false }));

        Assert.Equal(["lm_head.weight"], error.Missing);
    }

    [Fact]
    public void Open_SavedCheckpoint_ReadsGenerationAndTokenizerConfigs()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        var config = Qwen2LikeTestModule.Config(tied: true);
        using var source = Qwen2LikeTestModule.Create(config);
        var generation = new GenerationConfig { EosTokenId = TokenIdList.Of(7, 3), Temperature = 0.7, TopP = 0.8, TopK = 20 };
        var tokenizer = new TokenizerConfig { EosToken = "<|im_end|>", ChatTemplate = "{{ messages }}" };
        File.WriteAllText(dir.File("tokenizer.json"), "{\"version\": \"1.0\"}");

        var saved = Path.Combine(dir.Path, "ckpt");
        HfCheckpoint.Save(saved, config, source, new HfSaveOptions { Generation = generation, Tokenizer = tokenizer, ExtraFiles = [dir.File("tokenizer.json")] });
        using var checkpoint = HfCheckpoint.Open(saved);

        Assert.Equal([7, 3], checkpoint.Generation!.EosTokenIds);
        Assert.Equal(generation, checkpoint.Generation);
        Assert.Equal("<|im_end|>", checkpoint.Tokenizer!.EosToken);
        Assert.Equal("{{ messages }}", checkpoint.Tokenizer.ChatTemplate);
        Assert.True(File.Exists(Path.Combine(saved, "tokenizer.json")));
        var inspected = HfCheckpoint.Inspect(saved);
        Assert.Equal(checkpoint.Weights.Names, inspected.Select(i => i.Name));
        Assert.Equal(new long[] { 40, 16 }, inspected.Single(i => i.Name == "model.embed_tokens.weight").Shape);
    }
}

public sealed class ModuleWeightsTests
{
    [Fact]
    public void Load_InMemoryTensorsWithOldRotaryBuffer_SkipsItAndLoadsTheRest()
    {
        using var scope = NewDisposeScope();
        var config = Qwen2LikeTestModule.Config(tied: false);
        using var source = Qwen2LikeTestModule.Create(config);
        using var target = Qwen2LikeTestModule.Create(config);
        var tensors = source.state_dict();
        tensors["model.layers.0.self_attn.rotary_emb.inv_freq"] = ones(2);

        var report = ModuleWeights.Load(target, tensors);

        Assert.Equal(["model.layers.0.self_attn.rotary_emb.inv_freq"], report.Skipped);
        Assert.Empty(report.Unexpected);
        Assert.Equal(Qwen2LikeTestModule.Snapshot(source), Qwen2LikeTestModule.Snapshot(target));
    }

    [Fact]
    public void ReadInto_ParameterOfStoredDtype_FillsItInPlaceAndKeepsItTrainable()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        var values = randn(3, 5);                                           // [3, 5]
        SafetensorsWriter.Write(dir.File("w.safetensors"), [new("w", values)]);
        var parameter = new TorchSharp.Modules.Parameter(zeros(3, 5));

        using (var weights = SafetensorsWeights.OpenFile(dir.File("w.safetensors")))
        {
            weights.ReadInto("w", parameter);
            Assert.Throws<ArgumentException>(() => weights.ReadInto("w", zeros(5, 3)));
        }
        parameter.sum().backward();

        Assert.Equal(values.data<float>().ToArray(), parameter.detach().data<float>().ToArray());
        Assert.True(parameter.requires_grad);
        Assert.Equal(Enumerable.Repeat(1f, 15), parameter.grad!.data<float>().ToArray());
    }

    [Fact]
    public void StateForSaving_TiedModel_LeavesOutOnlyLmHead()
    {
        using var scope = NewDisposeScope();
        var config = Qwen2LikeTestModule.Config(tied: true);
        using var module = Qwen2LikeTestModule.Create(config);

        var tied = ModuleWeights.StateForSaving(module, tieWordEmbeddings: true).Select(kv => kv.Key).ToList();
        var untied = ModuleWeights.StateForSaving(module, tieWordEmbeddings: false).Select(kv => kv.Key).ToList();

        Assert.Equal(untied.Where(n => n != "lm_head.weight"), tied);
        Assert.Contains("lm_head.weight", untied);
    }
}
