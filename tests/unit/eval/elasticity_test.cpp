// The elasticity probe (eval/elasticity.h): each reported change is the compression rate after a
// perturbation fine-tune minus the aligned model's, the same as fine-tuning and measuring by
// hand; repeats average fine-tunes on disjoint lines; k is |D_p| / |D_a|; too few perturbation
// lines is an error naming the need.
#include "garden/eval/elasticity.h"

#include <gtest/gtest.h>

#include "garden/core/error.h"
#include "garden/eval/compression.h"
#include "garden/model/model_folder.h"
#include "garden/train/run_folder.h"
#include "test_files.h"
#include "test_helpers.h"

namespace garden::eval::elasticity_probe_test {
namespace {

struct Fixture {
  testing::TempDir dir;
  std::filesystem::path model = dir.path() / "aligned";
  ElasticitySets sets;
  Fixture() {
    torch::manual_seed(3);
    model::Transformer m(testing::byte_config(64));
    model::save_model(model, m, "bytes");
    sets.aligned = {"love and joy", "peace be with you", "blessed light"};
    sets.held_out = {"mercy and good", "rejoice in the light"};
    sets.pretrain = {"and the lord spake", "a kind of plant", "in the beginning", "the land of egypt"};
    sets.perturbation = {"the sword of wrath", "death and fear", "a curse on evil", "destroy the blood"};
  }
};

double rate(const std::filesystem::path& folder, const std::vector<std::string>& lines) {
  auto m = model::load_model(folder);
  const auto tokenizer = text::load_tokenizer(m.tokenizer_spec);
  return compression_rate_of_lines(m.model, *tokenizer, lines).bits_per_token;
}

TEST(ElasticityProbe, ChangesAreRatesAfterAPerturbationFineTuneMinusBefore) {
  Fixture f;
  ElasticityOptions options;
  options.sizes = {1, 2};
  options.fine_tune = {2, 2, 1e-3, 7};
  const auto report = elasticity_probe(f.model, f.sets, options, f.dir.path() / "work");
  ASSERT_EQ(report.rows.size(), 2u);
  EXPECT_DOUBLE_EQ(report.k, 4.0 / 3.0);
  EXPECT_NEAR(report.rate_pretrain, rate(f.model, f.sets.pretrain), 1e-9);
  // By hand: fine-tune on the first two perturbation lines with the same settings.
  const auto tokenizer = text::load_tokenizer("bytes");
  const std::vector<std::string> two(f.sets.perturbation.begin(), f.sets.perturbation.begin() + 2);
  train::fine_tune_folder(f.model, train::line_token_rows(*tokenizer, two, options.max_tokens), options.fine_tune, f.dir.path() / "by-hand");
  const auto tuned = train::model_folder(f.dir.path() / "by-hand");
  EXPECT_EQ(report.rows[1].size, 2);
  EXPECT_NEAR(report.rows[1].delta_aligned, rate(tuned, f.sets.aligned) - report.rate_aligned, 1e-6);
  EXPECT_NEAR(report.rows[1].delta_held_out, rate(tuned, f.sets.held_out) - report.rate_held_out, 1e-6);
  EXPECT_NEAR(report.rows[1].delta_pretrain, rate(tuned, f.sets.pretrain) - report.rate_pretrain, 1e-6);
  // Learning lines moves the rates at all.
  EXPECT_NE(report.rows[1].delta_pretrain, 0.0);
  EXPECT_FALSE(std::filesystem::exists(f.dir.path() / "work" / "perturb-2-0"));
}

TEST(ElasticityProbe, RepeatsAverageFineTunesOnDisjointLines) {
  Fixture f;
  ElasticityOptions options;
  options.sizes = {2};
  options.repeats = 2;
  options.fine_tune = {1, 2, 1e-3, 5};
  const auto report = elasticity_probe(f.model, f.sets, options, f.dir.path() / "work");
  const auto tokenizer = text::load_tokenizer("bytes");
  double sum = 0;
  for (int r = 0; r < 2; ++r) {
    const std::vector<std::string> lines(f.sets.perturbation.begin() + 2 * r, f.sets.perturbation.begin() + 2 * r + 2);
    auto settings = options.fine_tune;
    settings.seed += static_cast<uint64_t>(r);
    const auto out = f.dir.path() / ("repeat-" + std::to_string(r));
    train::fine_tune_folder(f.model, train::line_token_rows(*tokenizer, lines, options.max_tokens), settings, out);
    sum += rate(train::model_folder(out), f.sets.held_out) - report.rate_held_out;
  }
  EXPECT_NEAR(report.rows[0].delta_held_out, sum / 2, 1e-6);
  // Three repeats of two lines need six.
  options.repeats = 3;
  testing::expect_error_containing([&] { elasticity_probe(f.model, f.sets, options, f.dir.path() / "work"); },
                                   "3 repeat(s) of 2 perturbation lines need 6, the perturbation set has 4");
}

}  // namespace
}  // namespace garden::eval::elasticity_probe_test
