#include "garden/wiki/evolving_facts.h"

#include <fmt/core.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "garden/core/error.h"
#include "garden/core/files.h"

namespace garden::wiki {

namespace {

using Rng = std::mt19937_64;

const std::vector<std::string> kTownStems = {"Bram", "Cor",  "Dun",  "Ell",  "Fen",  "Gal",  "Hol",  "Ivy",  "Kes",  "Lor",
                                             "Mar",  "Nor",  "Oak",  "Pel",  "Quen", "Ros",  "Sel",  "Tor",  "Ul",   "Ver",
                                             "Wen",  "Yar",  "Ash",  "Birch", "Crow", "Dray", "Elm",  "Frost", "Glen", "Hart"};
const std::vector<std::string> kTownEnds = {"wick", "ford", "mere", "by", "ton", "stead", "holm", "dale", "bury", "field"};
const std::vector<std::string> kFirstNames = {"Ada",   "Bruno", "Clara", "Dmitri", "Edith", "Felix", "Greta", "Hugo",  "Ines",  "Jonas",
                                              "Karin", "Leo",   "Mira",  "Nils",   "Olga",  "Paul",  "Rosa",  "Sven",  "Tilda", "Umar",
                                              "Vera",  "Walt",  "Yusuf", "Zora",   "Anton", "Berit", "Cyril", "Dora",  "Emil",  "Freya"};
const std::vector<std::string> kSurnames = {"Morrow", "Hale",   "Quill", "Barros", "Lindqvist", "Okafor", "Petrov", "Sandoval", "Tamm",
                                            "Varga",  "Weller", "Adler", "Brandt", "Castell",   "Dunmore", "Ekwueme", "Fairley", "Grau",
                                            "Holm",   "Ibarra", "Jansen", "Kovac", "Lunde",     "Marsh",  "Novak",  "Orsini",   "Pryce"};
const std::vector<std::string> kRivers = {"Oska",  "Velda", "Marra", "Tiven", "Aubel", "Corra", "Isen",  "Lusk",  "Narve", "Pell",
                                          "Quara", "Rhune", "Sava",  "Tarn",  "Ulla",  "Wend",  "Yser",  "Zell",  "Brae",  "Dovra",
                                          "Ember", "Fala",  "Gorse", "Hume",  "Ilka",  "Jorra", "Kell",  "Lyne",  "Mosa",  "Nith"};
const std::vector<std::string> kTwinCities = {"Lyonne",  "Brasova", "Tallis",  "Gdana",   "Porvo",   "Segrada", "Kalmar", "Ostrava",
                                              "Bergamo", "Tartu",   "Coimbra", "Haarlem", "Leuven",  "Pecs",    "Arezzo", "Ghent",
                                              "Turku",   "Brno",    "Lublin",  "Nantes",  "Aarhus",  "Sibiu",   "Rovinj", "Vaasa",
                                              "Girona",  "Lecce",   "Kaunas",  "Olomouc", "Faro",    "Trento",  "Delft",  "Zadar"};
const std::vector<std::string> kPopulationBands = {"under 5 thousand", "5 to 20 thousand", "20 to 50 thousand", "50 to 200 thousand",
                                                   "over 200 thousand"};
// Sentences that mention a town without stating any attribute; a few share words with the
// questions ("mayor", "river", "twin", "population"), as real news does.
const std::vector<std::string> kDistractors = {
    "Visitors from {E} attended the spring fair.",          "Residents of {E} debated who should be the next mayor.",
    "Officials of {E} discussed the budget for the river embankment.", "The football club of {E} won on Saturday.",
    "A new bakery opened near the station in {E}.",         "Schools in {E} closed early because of snow.",
    "The library of {E} extended its opening hours.",       "Farmers near {E} reported a good harvest.",
    "A survey of the population near {E} is planned.",      "Musicians from {E} played at a twin festival.",
};
const std::vector<std::string> kFillers = {
    "The weather was mild for the season.",     "Local markets reported steady trade.",  "Rail services ran on time all week.",
    "The regional council met on Tuesday.",      "Road works continued on the coast road.", "A travelling circus drew large crowds.",
    "Heavy rain is expected later this month.",  "Prices at the fuel pumps fell slightly.", "The museum opened a new exhibition.",
    "Volunteers cleaned the old harbour.",
};

template <typename T>
const T& pick(const std::vector<T>& items, Rng& rng) {
  return items[std::uniform_int_distribution<size_t>(0, items.size() - 1)(rng)];
}

std::string date_of_day(int64_t day) {  // days after 2015-01-01 (civil calendar)
  int64_t z = day + 16436 + 719468;      // 2015-01-01 is day 16436 of the Unix epoch
  const int64_t era = z / 146097, doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return fmt::format("{:04d}-{:02d}-{:02d}", y, m, d);
}

// One event in a town's timeline, placed in a source in date order.
enum class Event { mayor_initial, twin_initial, river, population, mayor_update, twin_update, restate };

struct Town {
  std::string name, river, population;
  std::vector<std::string> mayors, twins;  // values in order of statement
};

struct Draft {
  std::string date;
  std::vector<std::string> towns;       // towns whose facts it states
  std::vector<std::string> sentences;  // facts first; shuffled with the rest when written
};

std::vector<std::string> unique_names(const std::vector<std::string>& a, const std::vector<std::string>& b, const std::string& joiner,
                                      size_t count, Rng& rng, const std::string& what) {
  std::vector<std::string> all;
  for (const auto& x : a)
    for (const auto& y : b) all.push_back(x + joiner + y);
  if (all.size() < count) usage_error(fmt::format("evolving facts: at most {} {} can be named", all.size(), what));
  std::shuffle(all.begin(), all.end(), rng);
  all.resize(count);
  return all;
}

std::string lower_rest(std::string name) {
  for (size_t i = 1; i < name.size(); ++i) name[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[i])));
  return name;
}

std::string joined_sorted(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

void EvolvingFactsOptions::validate() const {
  if (towns < 4) usage_error("evolving facts: towns must be at least 4");
  if (rivers < 1 || rivers > towns / 2 || rivers > static_cast<int64_t>(kRivers.size()))
    usage_error(fmt::format("evolving facts: rivers must be in [1, {}]", std::min<int64_t>(towns / 2, static_cast<int64_t>(kRivers.size()))));
  if (sources < towns) usage_error("evolving facts: sources must be at least the number of towns");
  if (contradictions < 0 || contradictions > towns / 2) usage_error("evolving facts: contradictions must be in [0, towns / 2]");
  if (sources - contradictions < towns) usage_error("evolving facts: too few sources besides the contradictions");
  if (questions < 10) usage_error("evolving facts: questions must be at least 10");
  if (distractors_per_source < 0 || fillers_per_source < 0) usage_error("evolving facts: sentence counts must be >= 0");
}

EvolvingFacts generate_evolving_facts(const EvolvingFactsOptions& options) {
  options.validate();
  Rng rng(options.seed * 7919 + 17);
  const auto n_towns = static_cast<size_t>(options.towns);

  // Towns and their values.
  std::vector<Town> towns(n_towns);
  const auto names = unique_names(kTownStems, kTownEnds, "", n_towns, rng, "towns");
  auto people = unique_names(kFirstNames, kSurnames, " ", std::min<size_t>(kFirstNames.size() * kSurnames.size(), n_towns * 6), rng, "people");
  size_t next_person = 0;
  const auto new_person = [&] { return people.at(next_person++ % people.size()); };
  std::vector<std::string> rivers(kRivers.begin(), kRivers.begin() + options.rivers);
  for (size_t i = 0; i < n_towns; ++i) {
    towns[i].name = lower_rest(names[i]);
    towns[i].river = rivers[i % rivers.size()];
    towns[i].population = pick(kPopulationBands, rng);
  }
  std::shuffle(towns.begin(), towns.end(), rng);

  // Timelines: mayors change 0-3 times, twin towns at most once, some values are restated; the
  // shares give about 30% updates and 10% restatements among all statements.
  std::discrete_distribution<int> mayor_updates({10, 30, 35, 25});
  std::bernoulli_distribution twin_update(0.5), restate(0.4);
  std::vector<std::vector<Event>> timelines(n_towns);
  for (auto& timeline : timelines) {
    std::vector<Event> rest = {Event::river, Event::population};
    for (int u = mayor_updates(rng); u > 0; --u) rest.push_back(Event::mayor_update);
    if (twin_update(rng)) rest.push_back(Event::twin_update);
    if (restate(rng)) rest.push_back(Event::restate);
    std::shuffle(rest.begin(), rest.end(), rng);
    timeline = {Event::mayor_initial, Event::twin_initial};
    timeline.insert(timeline.end(), rest.begin(), rest.end());
  }

  // Regular sources on distinct days in date order; each states facts of 1-3 towns.
  const auto n_regular = static_cast<size_t>(options.sources - options.contradictions);
  std::vector<int64_t> days(3652);
  for (size_t d = 0; d < days.size(); ++d) days[d] = static_cast<int64_t>(d);
  std::shuffle(days.begin(), days.end(), rng);
  days.resize(n_regular);
  std::sort(days.begin(), days.end());
  std::vector<Draft> drafts(n_regular);
  for (size_t d = 0; d < n_regular; ++d) drafts[d].date = date_of_day(days[d]);

  EvolvingFacts facts;
  std::vector<std::vector<size_t>> draft_of_claim;  // per town: the draft index of each of its claims
  struct Placed {
    size_t town, draft;
    Attribute attribute;
    std::string value;
    bool restate;
  };
  std::vector<Placed> placed;
  std::vector<int> load(n_regular, 0);
  for (size_t t = 0; t < n_towns; ++t) {
    std::vector<size_t> open;
    for (size_t d = 0; d < n_regular; ++d)
      if (load[d] < 3) open.push_back(d);
    if (open.size() < timelines[t].size()) usage_error("evolving facts: too few sources for the towns' statements (raise sources)");
    std::vector<size_t> chosen;
    std::sample(open.begin(), open.end(), std::back_inserter(chosen), timelines[t].size(), rng);
    std::sort(chosen.begin(), chosen.end());
    auto& town = towns[t];
    for (size_t i = 0; i < chosen.size(); ++i) {
      const auto d = chosen[i];
      ++load[d];
      switch (timelines[t][i]) {
        case Event::mayor_initial:
        case Event::mayor_update:
          town.mayors.push_back(new_person());
          placed.push_back({t, d, Attribute::mayor, town.mayors.back(), false});
          break;
        case Event::twin_initial:
        case Event::twin_update: {
          std::string city;
          do city = pick(kTwinCities, rng);
          while (std::find(town.twins.begin(), town.twins.end(), city) != town.twins.end());
          town.twins.push_back(city);
          placed.push_back({t, d, Attribute::twin, city, false});
          break;
        }
        case Event::river: placed.push_back({t, d, Attribute::river, town.river, false}); break;
        case Event::population: placed.push_back({t, d, Attribute::population, town.population, false}); break;
        case Event::restate: {
          // The value current at this point: the last mayor or twin stated so far, or the river.
          const int which = std::uniform_int_distribution<int>(0, 2)(rng);
          if (which == 0) placed.push_back({t, d, Attribute::mayor, town.mayors.back(), true});
          else if (which == 1) placed.push_back({t, d, Attribute::twin, town.twins.back(), true});
          else placed.push_back({t, d, Attribute::river, town.river, true});
          break;
        }
      }
      if (timelines[t][i] == Event::mayor_update || timelines[t][i] == Event::twin_update) ++facts.updates;
      if (timelines[t][i] == Event::restate) ++facts.restatements;
      ++facts.statements;
    }
  }
  // Sources no town landed in restate a river (true on any date).
  for (size_t d = 0; d < n_regular; ++d)
    if (load[d] == 0) {
      const auto t = std::uniform_int_distribution<size_t>(0, n_towns - 1)(rng);
      placed.push_back({t, d, Attribute::river, towns[t].river, true});
      ++facts.restatements;
      ++facts.statements;
    }

  // Contradictions: another source dated the same day names a different mayor, for a mayor who
  // was later replaced (so the current mayor and the questions stay unambiguous).
  std::vector<size_t> replaced;  // indexes into placed: first mayor statements of towns with updates
  for (size_t i = 0; i < placed.size(); ++i)
    if (placed[i].attribute == Attribute::mayor && !placed[i].restate && towns[placed[i].town].mayors.size() > 1 &&
        placed[i].value == towns[placed[i].town].mayors.front())
      replaced.push_back(i);
  if (static_cast<int64_t>(replaced.size()) < options.contradictions)
    usage_error(fmt::format("evolving facts: only {} towns have a replaced mayor for {} contradictions", replaced.size(), options.contradictions));
  std::shuffle(replaced.begin(), replaced.end(), rng);
  replaced.resize(static_cast<size_t>(options.contradictions));
  std::set<size_t> contradicted_towns;
  std::vector<std::pair<size_t, size_t>> conflict_of;  // (placed index of the original, draft index of the contradiction)
  for (const auto i : replaced) {
    Draft draft;
    draft.date = drafts[placed[i].draft].date;
    drafts.push_back(draft);
    const auto d = drafts.size() - 1;
    placed.push_back({placed[i].town, d, Attribute::mayor, new_person(), false});
    ++facts.statements;
    contradicted_towns.insert(placed[i].town);
    conflict_of.emplace_back(i, d);
  }

  // Write the sources: a date line, then facts, distractors and fillers in random order.
  std::vector<std::vector<std::pair<std::string, const Placed*>>> sentences(drafts.size());
  for (const auto& p : placed) {
    const int variant = std::uniform_int_distribution<int>(0, 2)(rng);
    sentences[p.draft].emplace_back(statement_sentence(p.attribute, towns[p.town].name, p.value, variant, p.restate), &p);
    auto& draft_towns = drafts[p.draft].towns;
    if (std::find(draft_towns.begin(), draft_towns.end(), towns[p.town].name) == draft_towns.end()) draft_towns.push_back(towns[p.town].name);
  }
  // Chronological ids: the contradictions fall among the sources of their day.
  std::vector<size_t> order(drafts.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return drafts[a].date < drafts[b].date; });
  std::map<size_t, std::string> id_of;
  for (size_t k = 0; k < order.size(); ++k) id_of[order[k]] = fmt::format("doc-{:04d}", k + 1);
  for (const auto d : order) {
    auto& lines = sentences[d];
    for (int64_t i = 0; i < options.distractors_per_source; ++i) {
      const auto& town = towns[std::uniform_int_distribution<size_t>(0, n_towns - 1)(rng)].name;
      std::string s = pick(kDistractors, rng);
      s.replace(s.find("{E}"), 3, town);
      lines.emplace_back(s, nullptr);
    }
    for (int64_t i = 0; i < options.fillers_per_source; ++i) lines.emplace_back(pick(kFillers, rng), nullptr);
    std::shuffle(lines.begin(), lines.end(), rng);
    Source source{.id = id_of[d], .date = drafts[d].date, .text = ""};
    std::string headline;
    for (const auto& t : drafts[d].towns) headline += (headline.empty() ? "" : ", ") + t;
    source.text = fmt::format("{} — Regional bulletin: {}\n", source.date, headline);
    for (size_t i = 0; i < lines.size(); ++i) {
      source.text += lines[i].first + "\n";
      if (const auto* p = lines[i].second)
        facts.truth.push_back(Claim{.entity = towns[p->town].name, .attribute = p->attribute, .value = p->value, .date = source.date,
                                    .source = source.id, .line = static_cast<int64_t>(i + 2)});
    }
    facts.sources.push_back(std::move(source));
  }
  for (const auto& [original, d] : conflict_of)
    facts.contradictions.push_back(Contradiction{.entity = towns[placed[original].town].name,
                                                 .attribute = Attribute::mayor,
                                                 .date = drafts[d].date,
                                                 .sources = {id_of[placed[original].draft], id_of[d]}});

  // Questions.
  std::vector<Question> q1, q2, q3, q4;
  for (size_t t = 0; t < n_towns; ++t) {
    const auto& town = towns[t];
    q1.push_back({"", "Q1", fmt::format("Who is the current mayor of {}?", town.name), town.mayors.back()});
    q1.push_back({"", "Q1", fmt::format("What is the current twin town of {}?", town.name), town.twins.back()});
    if (!contradicted_towns.count(t))
      q2.push_back({"", "Q2", fmt::format("How many different mayors has {} had?", town.name), std::to_string(town.mayors.size())});
    q2.push_back({"", "Q2", fmt::format("How many different twin towns has {} had?", town.name), std::to_string(town.twins.size())});
    std::vector<std::string> same;
    for (const auto& other : towns)
      if (other.river == town.river && other.name != town.name) same.push_back(other.name);
    q3.push_back({"", "Q3", fmt::format("Which other towns lie on the same river as {}?", town.name), joined_sorted(same)});
    q4.push_back({"", "Q4", fmt::format("What is the population of {}?", town.name), town.population});
  }
  std::vector<Question> river_questions;
  for (const auto& river : rivers) {
    std::vector<std::string> on;
    for (const auto& town : towns)
      if (town.river == river) on.push_back(town.name);
    river_questions.push_back({"", "Q3", fmt::format("Which towns lie on the river {}?", river), joined_sorted(on)});
  }
  const auto take = [&](std::vector<Question>& from, int64_t count) {
    std::shuffle(from.begin(), from.end(), rng);
    from.resize(std::min(from.size(), static_cast<size_t>(std::max<int64_t>(count, 0))));
    facts.questions.insert(facts.questions.end(), from.begin(), from.end());
  };
  const int64_t n1 = options.questions * 2 / 5, n_rest = options.questions / 5;
  take(q1, n1);
  take(q2, n_rest);
  const auto rivers_asked = std::min<int64_t>(static_cast<int64_t>(river_questions.size()), n_rest / 3);
  take(river_questions, rivers_asked);
  take(q3, n_rest - rivers_asked);
  take(q4, options.questions - n1 - 2 * n_rest);
  for (size_t i = 0; i < facts.questions.size(); ++i) facts.questions[i].id = fmt::format("q-{:03d}", i + 1);
  return facts;
}

void write_evolving_facts(const EvolvingFacts& facts, const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir / "sources");
  for (const auto& s : facts.sources) write_file_atomic(dir / "sources" / (s.id + ".md"), s.text);
  std::string questions;
  for (const auto& q : facts.questions)
    questions += Json{{"_id", q.id}, {"type", q.type}, {"text", q.text}, {"answer", q.answer}}.dump() + "\n";
  write_file_atomic(dir / "questions.jsonl", questions);
  Json truth = {{"statements", facts.statements}, {"updates", facts.updates}, {"restatements", facts.restatements}};
  truth["claims"] = Json::array();
  for (const auto& c : facts.truth)
    truth["claims"].push_back({{"entity", c.entity}, {"attribute", to_string(c.attribute)}, {"value", c.value}, {"date", c.date},
                               {"source", c.source}, {"line", c.line}});
  truth["contradictions"] = Json::array();
  for (const auto& c : facts.contradictions)
    truth["contradictions"].push_back({{"entity", c.entity}, {"attribute", to_string(c.attribute)}, {"date", c.date}, {"sources", c.sources}});
  write_file_atomic(dir / "truth.json", truth.dump(1) + "\n");
}

bool answer_matches(const std::string& predicted, const std::string& gold) {
  const auto items = [](const std::string& text) {
    std::set<std::string> out;
    size_t start = 0;
    while (start <= text.size()) {
      auto end = text.find(',', start);
      if (end == std::string::npos) end = text.size();
      auto item = text.substr(start, end - start);
      const auto a = item.find_first_not_of(' '), b = item.find_last_not_of(' ');
      item = a == std::string::npos ? "" : item.substr(a, b - a + 1);
      std::transform(item.begin(), item.end(), item.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (!item.empty()) out.insert(item);
      start = end + 1;
    }
    return out;
  };
  const auto p = items(predicted), g = items(gold);
  return !g.empty() && p == g;
}

}  // namespace garden::wiki
