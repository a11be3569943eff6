#include "garden/dsi/synth_entities.h"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <numeric>
#include <random>
#include <set>

#include "garden/core/error.h"
#include "garden/text/syllables.h"

namespace garden::dsi {

namespace {

constexpr int64_t kCategories = 20, kSubcategories = 5, kRegions = 30, kTraitsPerCategory = 12, kTraitsPerEntity = 3;
constexpr int kForms = 3;  // a word and its two synonyms

// A word with its synonyms: forms[0] is the one documents use.
struct Word {
  std::array<std::string, kForms> forms;
};

struct Lexicon {
  std::vector<Word> categories, regions;
  std::vector<std::vector<Word>> subcategories, traits;  // per category
};

struct Entity {
  std::string name;
  int64_t category = 0, subcategory = 0, region = 0;
  std::array<int64_t, kTraitsPerEntity> traits{};
};

// Fields a query can name; a query names two or three of them.
enum Field { kCategory, kSub, kRegion, kTrait0, kTrait1, kTrait2 };

class WordMaker {
 public:
  explicit WordMaker(std::mt19937_64& rng) : rng_(rng) {}
  std::string fresh(int min_syllables, int max_syllables) {
    for (;;) {
      auto word = text::syllable_word(rng_, min_syllables, max_syllables);
      if (used_.insert(word).second) return word;
    }
  }
  Word word() { return {{fresh(2, 3), fresh(2, 3), fresh(2, 3)}}; }

 private:
  std::mt19937_64& rng_;
  std::set<std::string> used_;
};

Lexicon make_lexicon(WordMaker& words) {
  Lexicon lexicon;
  for (int64_t c = 0; c < kCategories; ++c) {
    lexicon.categories.push_back(words.word());
    lexicon.subcategories.emplace_back();
    for (int64_t s = 0; s < kSubcategories; ++s) lexicon.subcategories.back().push_back(words.word());
    lexicon.traits.emplace_back();
    for (int64_t t = 0; t < kTraitsPerCategory; ++t) lexicon.traits.back().push_back(words.word());
  }
  for (int64_t r = 0; r < kRegions; ++r) lexicon.regions.push_back(words.word());
  return lexicon;
}

const Word& field_word(const Lexicon& lexicon, const Entity& e, Field field) {
  switch (field) {
    case kCategory: return lexicon.categories[static_cast<size_t>(e.category)];
    case kSub: return lexicon.subcategories[static_cast<size_t>(e.category)][static_cast<size_t>(e.subcategory)];
    case kRegion: return lexicon.regions[static_cast<size_t>(e.region)];
    default: return lexicon.traits[static_cast<size_t>(e.category)][static_cast<size_t>(e.traits[static_cast<size_t>(field - kTrait0)])];
  }
}

// Whether entity `e` has the field value that `of` has (a trait matches any of e's traits).
bool shares(const Entity& e, const Entity& of, Field field) {
  switch (field) {
    case kCategory: return e.category == of.category;
    case kSub: return e.category == of.category && e.subcategory == of.subcategory;
    case kRegion: return e.region == of.region;
    default: {
      const int64_t trait = of.traits[static_cast<size_t>(field - kTrait0)];
      return e.category == of.category && std::find(e.traits.begin(), e.traits.end(), trait) != e.traits.end();
    }
  }
}

// A query template: the fields it names and how it words them ({0}, {1}, {2} in field order).
struct Template {
  std::vector<Field> fields;
  const char* format;
};

const std::vector<Template>& templates() {
  static const std::vector<Template> all = {
      {{kCategory, kRegion, kTrait1}, "which {0} from {1} is known for {2}?"},
      {{kSub, kCategory, kTrait0}, "a {0} {1} known for {2}"},
      {{kCategory, kTrait0, kTrait2}, "{0} with {1} and {2}"},
      {{kSub, kCategory, kRegion}, "the {0} {1} from {2}"},
      {{kRegion, kTrait1, kTrait2}, "what from {0} is known for {1} and {2}?"},
      {{kCategory, kRegion, kTrait2}, "{0} of {1} famous for {2}"},
      {{kSub, kTrait1, kTrait0}, "something {0} with {1} and {2}"},
      {{kCategory, kTrait2, kTrait1}, "find the {0} known for {1} and {2}"},
  };
  return all;
}

// The documents that have every field the template names with entity `of`'s values.
int64_t matching(const std::vector<Entity>& entities, const Entity& of, const Template& t) {
  int64_t count = 0;
  for (const auto& e : entities)
    if (std::all_of(t.fields.begin(), t.fields.end(), [&](Field f) { return shares(e, of, f); })) ++count;
  return count;
}

std::string render(const Lexicon& lexicon, const Entity& e, const Template& t, std::mt19937_64& rng) {
  std::vector<std::string> words;
  for (Field f : t.fields) words.push_back(field_word(lexicon, e, f).forms[rng() % kForms]);
  return fmt::format(fmt::runtime(t.format), words[0], words[1], words[2]);
}

}  // namespace

void SynthEntitiesOptions::validate() const {
  if (documents < 10 || documents > 100000) usage_error(fmt::format("--documents must be 10..100000, got {}", documents));
  if (!(indexed_only_share >= 0 && indexed_only_share < 1))
    usage_error(fmt::format("--indexed-only must be a share in [0, 1), got {}", indexed_only_share));
  if (train_queries < 1 || train_queries > 6) usage_error(fmt::format("--train-queries must be 1..6, got {}", train_queries));
}

Json SynthEntitiesOptions::to_json() const {
  return {{"documents", documents}, {"indexed_only_share", indexed_only_share}, {"train_queries", train_queries}, {"seed", seed}};
}

EntityCollection generate_synth_entities(const SynthEntitiesOptions& o) {
  o.validate();
  std::mt19937_64 rng(o.seed ^ 0xd51e7715ULL);
  WordMaker words(rng);
  const Lexicon lexicon = make_lexicon(words);

  // Entities with distinct field tuples (an exact duplicate could never be told apart).
  std::vector<Entity> entities;
  std::set<std::vector<int64_t>> tuples;
  std::vector<int64_t> trait_order(kTraitsPerCategory);
  while (static_cast<int64_t>(entities.size()) < o.documents) {
    Entity e;
    e.category = static_cast<int64_t>(rng() % kCategories);
    e.subcategory = static_cast<int64_t>(rng() % kSubcategories);
    e.region = static_cast<int64_t>(rng() % kRegions);
    std::iota(trait_order.begin(), trait_order.end(), 0);
    std::shuffle(trait_order.begin(), trait_order.end(), rng);
    std::copy_n(trait_order.begin(), kTraitsPerEntity, e.traits.begin());
    std::vector<int64_t> key{e.category, e.subcategory, e.region};
    std::vector<int64_t> sorted_traits(e.traits.begin(), e.traits.end());
    std::sort(sorted_traits.begin(), sorted_traits.end());
    key.insert(key.end(), sorted_traits.begin(), sorted_traits.end());
    if (!tuples.insert(key).second) continue;
    e.name = text::capitalised(words.fresh(2, 3));
    entities.push_back(e);
  }

  EntityCollection out;
  auto& c = out.collection;
  c.name = "synth-entities";
  for (size_t i = 0; i < entities.size(); ++i) {
    const auto& e = entities[i];
    const auto& traits = lexicon.traits[static_cast<size_t>(e.category)];
    c.corpus.push_back({fmt::format("d{}", i), "",
                        fmt::format("{} is a {} {} from {} known for {}, {} and {}", e.name,
                                    lexicon.subcategories[static_cast<size_t>(e.category)][static_cast<size_t>(e.subcategory)].forms[0],
                                    lexicon.categories[static_cast<size_t>(e.category)].forms[0],
                                    lexicon.regions[static_cast<size_t>(e.region)].forms[0], traits[static_cast<size_t>(e.traits[0])].forms[0],
                                    traits[static_cast<size_t>(e.traits[1])].forms[0], traits[static_cast<size_t>(e.traits[2])].forms[0])});
  }

  // Which documents get training queries: a seeded choice of the share.
  std::vector<int64_t> order(entities.size());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  const auto indexed_only =
      o.indexed_only_share > 0 ? std::max<int64_t>(1, static_cast<int64_t>(std::lround(o.indexed_only_share * o.documents))) : 0;
  const int64_t with_training = o.documents - indexed_only;
  std::vector<bool> trained(entities.size(), false);
  for (int64_t i = 0; i < with_training; ++i) trained[static_cast<size_t>(order[static_cast<size_t>(i)])] = true;
  // Held-out paraphrases for as many trained documents as there are indexed-only ones; for
  // every document when none is indexed-only (ANCE's variant: one test query per document).
  const int64_t seen_tests = indexed_only > 0 ? std::min(with_training, indexed_only) : with_training;
  std::set<int64_t> seen_test(order.begin(), order.begin() + seen_tests);

  // A document's queries, all different strings: templates that single it out are preferred
  // (a template whose fields several entities share stays ambiguous; its qrels still name
  // only the entity it was written for).
  for (size_t i = 0; i < entities.size(); ++i) {
    const auto doc = static_cast<int64_t>(i);
    const int64_t wanted = (trained[i] ? o.train_queries : 0) + (!trained[i] || seen_test.count(doc) ? 1 : 0);
    std::vector<const Template*> unique, ambiguous;
    for (const auto& t : templates()) (matching(entities, entities[i], t) == 1 ? unique : ambiguous).push_back(&t);
    std::shuffle(unique.begin(), unique.end(), rng);
    std::shuffle(ambiguous.begin(), ambiguous.end(), rng);
    const auto& pool = unique.empty() ? ambiguous : unique;
    std::set<std::string> texts;
    for (int64_t tries = 0; static_cast<int64_t>(texts.size()) < wanted && tries < 400; ++tries) {
      // Cycle through the templates; each try draws fresh word forms.
      const Template& t = *pool[static_cast<size_t>(tries) % pool.size()];
      const auto text = render(lexicon, entities[i], t, rng);
      if (!texts.insert(text).second) continue;
      const int64_t j = static_cast<int64_t>(texts.size()) - 1;
      const std::string id = fmt::format("q{}-{}", i, j);
      c.queries.push_back({id, text});
      // The last query of a document with a test query is held out.
      const bool is_test = j == wanted - 1 && (!trained[i] || seen_test.count(doc));
      (is_test ? c.qrels : out.train_qrels)[id][c.corpus[i].id] = 1;
    }
    if (static_cast<int64_t>(texts.size()) < wanted)
      throw Error(fmt::format("synth-entities: could not word {} distinct queries for document {}", wanted, i));
  }
  return out;
}

void write_entity_collection(const EntityCollection& entities, const std::filesystem::path& dir) {
  retrieval::write_beir_collection(entities.collection, dir, "test", {{"train", entities.train_qrels}});
}

}  // namespace garden::dsi
