using AgentRl.Policy.Tokenization;

namespace AgentRl.Policy.Tests.Tokenization;

public sealed class UnicodeNfcTests
{
    [Theory]
    [InlineData("e\u0301", "\u00e9")]                           // compose
    [InlineData("\u212b", "\u00c5")]                            // singleton (Angstrom sign) → Å
    [InlineData("\u0958", "\u0915\u093c")]                      // composition exclusion stays decomposed
    [InlineData("a\u0323\u0302", "\u1ead")]                     // two marks: ạ + ̂ → ậ
    [InlineData("a\u0302\u0323", "\u1ead")]                     // reordered by combining class first
    [InlineData("\u1100\u1161\u11a8", "\uac01")]                // Hangul L V T → 각
    [InlineData("\uac00\u11a8", "\uac01")]                      // Hangul LV + T
    [InlineData("e\u0334\u0301", "\u00e9\u0334")]               // ccc 1 does not block ccc 230: é, then the overlay
    [InlineData("plain ascii", "plain ascii")]
    public void Normalize_KnownSequences_GivesNfc(string input, string expected)
    {
        Assert.Equal(expected, UnicodeNfc.Normalize(input));
    }

    [Fact]
    public void Normalize_VariedAndRandomTexts_EqualsNodeStringNormalize()
    {
        var (texts, reference) = NodeReference.Qwen;
        for (var i = 0; i < texts.Count; i++)
        {
            Assert.True(reference.Nfc[i] == UnicodeNfc.Normalize(texts[i]), $"text #{i} differs: {texts[i]}");
        }
    }
}
