namespace AgentRl.Tasks.KbMultihop;

/// <summary>
/// A question over a <see cref="KbWorld"/>: the search queries that answer it in order (one per hop), the document
/// each query should find, and the answer. Query i+1 (or the answer, for the last hop) is written in document i.
/// </summary>
public sealed record KbQuestion(string Template, string Text, IReadOnlyList<string> Queries, IReadOnlyList<string> ChainDocIds, string Answer)
{
    /// <summary>Question templates: name, hops, whether it starts from a person (else a company).</summary>
    public static IReadOnlyList<(string Name, int Hops, bool StartsFromPerson)> Templates { get; } =
    [
        ("birth-country", 2, true),
        ("founder-city", 2, false),
        ("hq-country", 2, false),
        ("founder-country", 3, false),
        ("employer-country", 3, true),
    ];

    /// <summary>The question of <paramref name="template"/> starting from person or company <paramref name="start"/>.</summary>
    public static KbQuestion Create(KbWorld world, string template, int start)
    {
        ArgumentNullException.ThrowIfNull(world);
        switch (template)
        {
            case "birth-country":
                {
                    var city = world.BirthCity[start];
                    return new(template, $"In which country was {world.People[start]} born?",
                        [world.People[start], world.Cities[city]],
                        [KbWorld.PersonDocId(start), KbWorld.CityDocId(city)],
                        world.Countries[world.CountryOf[city]]);
                }

            case "founder-city":
                {
                    var founder = world.Founder[start];
                    return new(template, $"In which city was the founder of {world.Companies[start]} born?",
                        [world.Companies[start], world.People[founder]],
                        [KbWorld.CompanyDocId(start), KbWorld.PersonDocId(founder)],
                        world.Cities[world.BirthCity[founder]]);
                }

            case "hq-country":
                {
                    var city = world.Headquarters[start];
                    return new(template, $"In which country is {world.Companies[start]} based?",
                        [world.Companies[start], world.Cities[city]],
                        [KbWorld.CompanyDocId(start), KbWorld.CityDocId(city)],
                        world.Countries[world.CountryOf[city]]);
                }

            case "founder-country":
                {
                    var founder = world.Founder[start];
                    var city = world.BirthCity[founder];
                    return new(template, $"In which country was the founder of {world.Companies[start]} born?",
                        [world.Companies[start], world.People[founder], world.Cities[city]],
                        [KbWorld.CompanyDocId(start), KbWorld.PersonDocId(founder), KbWorld.CityDocId(city)],
                        world.Countries[world.CountryOf[city]]);
                }

            case "employer-country":
                {
                    var company = world.Employer[start];
                    var city = world.Headquarters[company];
                    return new(template, $"In which country is the company {world.People[start]} works at based?",
                        [world.People[start], world.Companies[company], world.Cities[city]],
                        [KbWorld.PersonDocId(start), KbWorld.CompanyDocId(company), KbWorld.CityDocId(city)],
                        world.Countries[world.CountryOf[city]]);
                }

            default:
                throw new ArgumentException($"Unknown kb-multihop template '{template}'.", nameof(template));
        }
    }
}
