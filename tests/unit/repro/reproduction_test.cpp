#include "garden/repro/reproduction.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace garden::repro {
namespace {

TEST(Verdict, FollowsFromTheCriteria) {
  Result r;
  r.criteria = {{"sink formed", true, "0.3", true}, {"effect", true, "0.1", false}};
  decide_verdict(r);
  EXPECT_EQ(r.verdict, Verdict::reproduced);
  EXPECT_EQ(r.verdict_reason, "all criteria met");
  // A criterion whose own precondition failed is named, and leaves the verdict alone.
  r.criteria.push_back({"2. safety: harmful@10 lower", false, "not judged: no harm", false, false});
  decide_verdict(r);
  EXPECT_EQ(r.verdict, Verdict::reproduced);
  EXPECT_EQ(r.verdict_reason, "every judged criterion met; not judged: 2. safety");
  r.criteria.pop_back();
  r.criteria[1].passed = false;
  decide_verdict(r);
  EXPECT_EQ(r.verdict, Verdict::not_reproduced);
  EXPECT_NE(r.verdict_reason.find("effect"), std::string::npos);
  r.criteria[0].passed = false;  // a failed precondition wins: the claim was not testable
  decide_verdict(r);
  EXPECT_EQ(r.verdict, Verdict::inconclusive);
  r.criteria.clear();
  decide_verdict(r);
  EXPECT_EQ(r.verdict, Verdict::inconclusive);
}

TEST(Registry, HoldsTheNineteenReproductionsInPaperOrder) {
  std::vector<std::string> slugs;
  for (const auto* r : registry()) slugs.push_back(r->slug);
  EXPECT_EQ(slugs, (std::vector<std::string>{"ance", "nv-embed", "matryoshka", "gritlm", "hyde", "llm2vec", "llm2vec-gen", "dsi", "limit", "llm-wiki", "gated-attention", "rlvr-passk", "roll-the-dice",
                                              "shallow-alignment", "resist-alignment", "lost-in-conversation", "model-collapse", "succinct-transformers",
                                              "agent-design"}));
  EXPECT_EQ(papers().size(), 19u);
  std::set<std::string> unique;
  for (const auto& p : papers()) unique.insert(p.slug);
  EXPECT_EQ(unique.size(), 19u);
  EXPECT_NE(find_reproduction("gated-attention"), nullptr);
  EXPECT_EQ(find_reproduction("no-such-paper"), nullptr);
  EXPECT_NE(find_reproduction("llm-wiki"), nullptr);
}

// Each page in docs/repro/ names the figures version of the run it records; when a change
// to the code alters a reproduction's figures, its version is raised and this fails until
// the page is recorded again (scripts/record-repro).
TEST(RecordedFigures, EveryPageRecordsTheCurrentFiguresVersion) {
  for (const auto* r : registry()) {
    const std::string page = std::string(GARDEN_SOURCE_DIR) + "/docs/repro/" + r->slug + ".md";
    std::ifstream in(page);
    ASSERT_TRUE(in) << page << " is missing";
    std::stringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    std::smatch m;
    ASSERT_NE(s.find("<!-- recorded run -->"), std::string::npos) << page << " has no recorded run: scripts/record-repro " << r->slug;
    const std::string block = s.substr(s.find("<!-- recorded run -->"));
    ASSERT_TRUE(std::regex_search(block, m, std::regex("figures version (\\d+)"))) << page << "'s recorded run names no figures version";
    EXPECT_EQ(std::stoi(m[1]), r->figures_version) << page << " records figures of another version of the code: run "
                                                    << "scripts/record-repro " << r->slug;
  }
}

}  // namespace
}  // namespace garden::repro
