using AgentRl.Policy.Tokenization;

namespace AgentRl.Policy.Tests.Tokenization;

/// <summary>Llama 3's tokenizer.json: digit groups of up to three, <c>ignore_merges</c>, merges in the older "a b" form, no NFC.</summary>
public sealed class Llama3BpeTokenizerTests
{
    private static readonly Lazy<BpeTokenizer> Tokenizer = new(() => BpeTokenizer.Load(NodeReference.ModelsDir(NodeReference.Llama3Package)));

    [Fact]
    public void Encode_VariedAndRandomTexts_EqualsTransformersJsReferenceIds()
    {
        var texts = TextSamples.Varied.Concat(TextSamples.Random(seed: 4, count: 150, maxLength: 40)).Concat(TextSamples.NfcStress).ToList();
        var reference = NodeReference.Encode(texts, package: NodeReference.Llama3Package);
        var tokenizer = Tokenizer.Value;
        var mismatches = new List<string>();
        for (var i = 0; i < texts.Count; i++)
        {
            var ours = tokenizer.Encode(texts[i]);
            if (!ours.SequenceEqual(reference.Ids[i]) || tokenizer.Decode(ours) != texts[i])
            {
                mismatches.Add($"#{i}\n  ours [{string.Join(",", ours)}]\n  ref  [{string.Join(",", reference.Ids[i])}]");
            }
        }

        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {texts.Count} texts differ:\n{string.Join("\n", mismatches.Take(10))}");
        Assert.Equal(tokenizer.TokenToId("<|end_of_text|>"), tokenizer.EosId);
    }
}
