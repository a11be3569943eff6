#include "garden/text/prepare.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/json.h"
#include "test_files.h"

namespace garden::text {
namespace {

TEST(Prepare, WordnetGlossLinesFromAHandMadeDataFile) {
  testing::TempDir dir;
  // The licence header is indented; a synset line has lemmas (count in hex) then "| gloss".
  const std::string line = "00045646 04 n 02 rally 1 rallying 1 003 @ 00036762 n 0000 | the feat of mustering strength  \n";
  write_file_atomic(dir.path() / "data.noun", "  1 This software and database\n" + line);
  for (const char* part : {"data.verb", "data.adj", "data.adv"}) write_file_atomic(dir.path() / part, "");
  EXPECT_EQ(wordnet_glosses(dir.path()), (std::vector<std::string>{"rally, rallying: the feat of mustering strength"}));
  testing::expect_error_containing([] { wordnet_glosses("/nonexistent"); }, "install Debian's wordnet-base");
}

TEST(Prepare, DefaultCorpusHasSplitsAndAManifest) {
  testing::TempDir dir;
  auto corpus = prepare_default_corpus(dir.path() / "default");
  auto manifest = read_json_file(corpus.dir / "manifest.json");
  for (const char* split : {"train", "valid", "test"}) {
    const auto text = read_file(corpus.split(split));
    EXPECT_EQ(manifest["files"][split]["sha256"], sha256_hex(text)) << split;
    EXPECT_GT(text.size(), 100000u) << split;
  }
  // Line i goes to valid when block (i / 100) % 20 is 18, to test when 19, else to train.
  const auto& lines = manifest["sources"][0]["lines"];
  const int64_t n = lines["train"].get<int64_t>() + lines["valid"].get<int64_t>() + lines["test"].get<int64_t>();
  int64_t valid = 0;
  for (int64_t i = 0; i < n; ++i) valid += (i / 100) % 20 == 18;
  EXPECT_EQ(lines["valid"].get<int64_t>(), valid);
  EXPECT_EQ(read_file(corpus.split("train")).rfind("In the beginning God created the heaven and the earth.\n", 0), 0u);
}

TEST(WordNet, WordNetSynsetsCarryTheirLexicographerFile) {
  EXPECT_EQ(wordnet_lexname(5), "noun.animal");
  EXPECT_EQ(wordnet_lexname(28), "noun.time");
  EXPECT_THROW(wordnet_lexname(45), Error);
  const auto synsets = wordnet_synsets(kWordnetDir, {"noun"});
  ASSERT_GT(synsets.size(), 80000u);  // WordNet 3.0 has 82,115 noun synsets
  bool dog_is_an_animal = false;
  for (const auto& s : synsets)
    if (!s.lemmas.empty() && s.lemmas[0] == "dog" && s.gloss.find("domesticated") != std::string::npos)
      dog_is_an_animal = s.lexname == "noun.animal";
  EXPECT_TRUE(dog_is_an_animal);
}

// Hypernym pointers, class and instance: a dog is (through several links) an animal, a
// pistol a weapon, and Mars (an instance) a planet; the closure lists each ancestor once,
// nearest first, and reaches WordNet's root.
TEST(WordNet, HypernymClosureFollowsClassAndInstanceLinks) {
  const auto synsets = wordnet_synsets(kWordnetDir, {"noun"});
  const WordNetHierarchy hierarchy(synsets);
  auto find = [&](const std::string& lemma, const std::string& gloss_word) {
    for (size_t i = 0; i < synsets.size(); ++i)
      if (!synsets[i].lemmas.empty() && synsets[i].lemmas[0] == lemma && synsets[i].gloss.find(gloss_word) != std::string::npos) return i;
    ADD_FAILURE() << "no synset " << lemma;
    return size_t{0};
  };
  auto ancestor_lemmas = [&](size_t index) {
    std::vector<std::string> lemmas;
    for (const size_t a : hierarchy.ancestors(index)) lemmas.push_back(synsets[a].lemmas[0]);
    return lemmas;
  };
  auto has = [](const std::vector<std::string>& lemmas, const std::string& lemma) {
    return std::find(lemmas.begin(), lemmas.end(), lemma) != lemmas.end();
  };
  const auto dog = ancestor_lemmas(find("dog", "domesticated"));
  EXPECT_TRUE(has(dog, "canine"));
  EXPECT_TRUE(has(dog, "animal"));
  EXPECT_EQ(dog.back(), "entity");  // the root comes last
  EXPECT_EQ(std::set<std::string>(dog.begin(), dog.end()).size(), hierarchy.ancestors(find("dog", "domesticated")).size());
  EXPECT_TRUE(has(ancestor_lemmas(find("pistol", "firearm")), "weapon"));
  EXPECT_TRUE(has(ancestor_lemmas(find("Mars", "planet")), "planet"));
  EXPECT_TRUE(hierarchy.ancestors(find("entity", "perceived")).empty());
  EXPECT_THROW(hierarchy.ancestors(synsets.size()), Error);
}

}  // namespace
}  // namespace garden::text
