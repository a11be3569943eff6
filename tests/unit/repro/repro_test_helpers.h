// Helpers for the tests of reproductions' criteria.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "garden/core/error.h"
#include "garden/repro/reproduction.h"

namespace garden::repro {

// The registered criteria of `slug` applied to `figures`.
inline std::vector<Criterion> criteria_of(const std::string& slug, const Json& figures) {
  const Reproduction* r = find_reproduction(slug);
  if (r == nullptr) throw Error("no reproduction " + slug);
  return r->criteria(figures);
}

// Exactly the criteria whose description contains `name` fail; every other one passes.
inline void expect_only_failing(const std::vector<Criterion>& criteria, const std::string& name) {
  bool matched = false;
  for (const auto& c : criteria) {
    const bool named = c.description.find(name) != std::string::npos;
    matched = matched || named;
    EXPECT_EQ(c.passed, !named) << "after breaking '" << name << "': " << c.description << " -> " << c.measured;
  }
  EXPECT_TRUE(matched) << "no criterion mentions '" << name << "'";
}

}  // namespace garden::repro
