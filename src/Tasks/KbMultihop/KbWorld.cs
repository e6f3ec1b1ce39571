using AgentRl.Abstractions.Tools;

namespace AgentRl.Tasks.KbMultihop;

/// <summary>
/// A small generated world of fictional people, companies, cities and countries, written as one short document per
/// person, company and city. Names are made of syllables and share no word, so a search for a name finds its document.
/// </summary>
public sealed class KbWorld
{
    private static readonly string[] Syllables =
    [
        "ka", "lo", "mi", "ra", "ven", "tor", "sil", "dan", "mer", "zu", "pel", "or", "bel", "cor", "fen", "gar",
        "hal", "jin", "kel", "lum", "nor", "pra", "quin", "sar", "tal", "ul", "vor", "wen", "yar", "bri", "dro", "esk",
    ];

    private static readonly string[] CitySuffixes = ["ford", "holm", "ria", "ton", "grad", "mouth", "vale", "port"];
    private static readonly string[] CountrySuffixes = ["land", "ia", "stan", "mark", "ora"];
    private static readonly string[] CompanyKinds = ["Labs", "Systems", "Foods", "Motors", "Works", "Textiles", "Mining", "Media"];

    private KbWorld()
    {
    }

    public IReadOnlyList<string> People { get; private init; } = [];

    public IReadOnlyList<string> Companies { get; private init; } = [];

    public IReadOnlyList<string> Cities { get; private init; } = [];

    public IReadOnlyList<string> Countries { get; private init; } = [];

    /// <summary>Birth city of each person (index into <see cref="Cities"/>).</summary>
    public IReadOnlyList<int> BirthCity { get; private init; } = [];

    /// <summary>Employer of each person (index into <see cref="Companies"/>).</summary>
    public IReadOnlyList<int> Employer { get; private init; } = [];

    /// <summary>Founder of each company (index into <see cref="People"/>; founders are distinct).</summary>
    public IReadOnlyList<int> Founder { get; private init; } = [];

    /// <summary>Headquarters city of each company (index into <see cref="Cities"/>).</summary>
    public IReadOnlyList<int> Headquarters { get; private init; } = [];

    /// <summary>Country of each city (index into <see cref="Countries"/>).</summary>
    public IReadOnlyList<int> CountryOf { get; private init; } = [];

    public static KbWorld Generate(Random rng, KbMultihopOptions options)
    {
        ArgumentNullException.ThrowIfNull(rng);
        ArgumentNullException.ThrowIfNull(options);
        var used = new HashSet<string>(StringComparer.Ordinal);
        string Word(int syllables, string suffix = "")
        {
            while (true)
            {
                var word = string.Concat(Enumerable.Range(0, syllables).Select(_ => Syllables[rng.Next(Syllables.Length)])) + suffix;
                if (used.Add(word))
                {
                    return char.ToUpperInvariant(word[0]) + word[1..];
                }
            }
        }

        var kinds = CompanyKinds.ToArray();
        rng.Shuffle(kinds);
        var founders = Enumerable.Range(0, options.People).ToArray();
        rng.Shuffle(founders);
        return new KbWorld
        {
            People = [.. Enumerable.Range(0, options.People).Select(_ => Word(2) + " " + Word(rng.Next(2, 4)))],
            Companies = [.. Enumerable.Range(0, options.Companies).Select(i => Word(2) + " " + kinds[i % kinds.Length])],
            Cities = [.. Enumerable.Range(0, options.Cities).Select(_ => Word(rng.Next(1, 3), CitySuffixes[rng.Next(CitySuffixes.Length)]))],
            Countries = [.. Enumerable.Range(0, options.Countries).Select(_ => Word(rng.Next(1, 3), CountrySuffixes[rng.Next(CountrySuffixes.Length)]))],
            BirthCity = [.. Enumerable.Range(0, options.People).Select(_ => rng.Next(options.Cities))],
            Employer = [.. Enumerable.Range(0, options.People).Select(_ => rng.Next(options.Companies))],
            Founder = [.. founders.Take(options.Companies)],
            Headquarters = [.. Enumerable.Range(0, options.Companies).Select(_ => rng.Next(options.Cities))],
            CountryOf = [.. Enumerable.Range(0, options.Cities).Select(_ => rng.Next(options.Countries))],
        };
    }

    public static string PersonDocId(int i) => $"person-{i}";

    public static string CompanyDocId(int i) => $"company-{i}";

    public static string CityDocId(int i) => $"city-{i}";

    /// <summary>One document per person, company and city, in a shuffled order.</summary>
    public IReadOnlyList<KbDocument> Documents(Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var docs = new List<KbDocument>();
        for (var p = 0; p < People.Count; p++)
        {
            docs.Add(new KbDocument(PersonDocId(p), People[p], $"{People[p]} was born in {Cities[BirthCity[p]]} and works at {Companies[Employer[p]]}."));
        }

        for (var c = 0; c < Companies.Count; c++)
        {
            docs.Add(new KbDocument(CompanyDocId(c), Companies[c], $"{Companies[c]} is based in {Cities[Headquarters[c]]}. It was founded by {People[Founder[c]]}."));
        }

        for (var c = 0; c < Cities.Count; c++)
        {
            docs.Add(new KbDocument(CityDocId(c), Cities[c], $"{Cities[c]} is a city in {Countries[CountryOf[c]]}."));
        }

        var shuffled = docs.ToArray();
        rng.Shuffle(shuffled);
        return shuffled;
    }
}
