#include "garden/repro/reproduction.h"

#include <gtest/gtest.h>

namespace garden::repro {
namespace {

TEST(Verdict, FollowsFromTheCriteria) {
  Result r;
  r.criteria = {{"sink formed", true, "0.3", true}, {"effect", true, "0.1", false}};
  decide_verdict(r);
  EXPECT_EQ(r.verdict, Verdict::reproduced);
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

TEST(Registry, EveryAvailableReproductionIsListed) {
  for (const auto& r : registry()) {
    bool listed = false;
    for (const auto& p : paper_list()) listed = listed || (p.slug == r.slug && p.available);
    EXPECT_TRUE(listed) << r.slug;
  }
  EXPECT_NE(find_reproduction("gated-attention"), nullptr);
  EXPECT_EQ(find_reproduction("no-such-paper"), nullptr);
}

}  // namespace
}  // namespace garden::repro
