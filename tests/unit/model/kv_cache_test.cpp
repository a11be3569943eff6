// KVCache::append: the keys and values equal torch::cat of everything appended; appends write
// into the cache's room without copying what it holds; a copy of a cache never writes into the
// storage of the original (both go on appending different tokens); under autograd it concatenates.
#include "garden/model/kv_cache.h"

#include <gtest/gtest.h>

namespace garden::model {
namespace {

torch::Tensor step(int64_t rows, float value) { return torch::full({rows, 2, 1, 4}, value); }

TEST(KvCacheAppend, EqualsConcatenationAndWritesInPlace) {
  KVCache cache;
  auto prompt = torch::randn({3, 2, 5, 4});
  cache.append(0, prompt, prompt * 2);
  std::vector<torch::Tensor> parts = {prompt};
  for (int i = 0; i < 40; ++i) {
    cache.append(0, step(3, static_cast<float>(i)), step(3, static_cast<float>(-i)));
    parts.push_back(step(3, static_cast<float>(i)));
  }
  EXPECT_TRUE(torch::equal(cache.keys[0], torch::cat(parts, 2)));
  EXPECT_EQ(cache.values[0].size(2), 45);
  // The next append lands in the room: the held keys keep their storage.
  const auto* storage = cache.keys[0].data_ptr();
  cache.append(0, step(3, 99), step(3, -99));
  EXPECT_EQ(cache.keys[0].data_ptr(), storage);
  EXPECT_EQ(cache.keys[0][0][0][45][0].item<float>(), 99);
}

TEST(KvCacheAppend, EveryRowHeadAndPositionLandsWhereConcatenationPutsIt) {
  // Random appends of one and of several positions, contiguous (copied row by row) and a
  // strided view (copied by libtorch), into keys of 3 rows x 2 heads.
  torch::manual_seed(6);
  KVCache cache;
  const auto prompt = torch::randn({3, 2, 4, 5});
  cache.append(0, prompt, -prompt);
  std::vector<torch::Tensor> keys = {prompt}, values = {-prompt};
  for (int i = 0; i < 30; ++i) {
    const auto added = i % 3 == 2 ? torch::randn({3, 5, 2, 2}).permute({0, 2, 3, 1}) : torch::randn({3, 2, 1 + i % 2, 5});
    cache.append(0, added, added * 3);
    keys.push_back(added);
    values.push_back(added * 3);
  }
  EXPECT_TRUE(torch::equal(cache.keys[0], torch::cat(keys, 2)));
  EXPECT_TRUE(torch::equal(cache.values[0], torch::cat(values, 2)));
}

TEST(KvCacheAppend, ACopyNeverWritesIntoTheOriginal) {
  KVCache original;
  original.append(0, torch::zeros({1, 2, 3, 4}), torch::zeros({1, 2, 3, 4}));
  original.append(0, step(1, 1), step(1, 1));  // the original now has room
  KVCache copy = original;
  copy.append(0, step(1, 7), step(1, 7));
  original.append(0, step(1, 5), step(1, 5));
  EXPECT_EQ(copy.keys[0][0][0][4][0].item<float>(), 7);
  EXPECT_EQ(original.keys[0][0][0][4][0].item<float>(), 5);
  KVCache assigned;
  assigned = original;
  assigned.append(0, step(1, 8), step(1, 8));
  original.append(0, step(1, 6), step(1, 6));
  EXPECT_EQ(assigned.keys[0][0][0][5][0].item<float>(), 8);
  EXPECT_EQ(original.keys[0][0][0][5][0].item<float>(), 6);
}

TEST(KvCacheAppend, UnderAutogradGradientsFlowThroughEveryAppend) {
  KVCache cache;
  auto a = torch::ones({1, 1, 2, 1}, torch::requires_grad()), b = torch::ones({1, 1, 1, 1}, torch::requires_grad());
  cache.append(0, a, a);
  cache.append(0, b * 3, b * 3);
  cache.keys[0].sum().backward();
  EXPECT_EQ(a.grad().sum().item<float>(), 2);
  EXPECT_EQ(b.grad().item<float>(), 3);
}

}  // namespace
}  // namespace garden::model
