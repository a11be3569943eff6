// Concurrent requests share passes, each gets its own rows back in order, a lone request
// waits at most about max_wait, and an encoder error reaches every request of its pass.
#include "garden/serve/embedding_batcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>

namespace garden::serve {
namespace {

// A row's "vector" is its first token id and its length: easy to check per request.
Vectors fake_encode(const Rows& rows) {
  Vectors out;
  for (const auto& row : rows) out.push_back({static_cast<float>(row.at(0)), static_cast<float>(row.size())});
  return out;
}

TEST(EmbeddingBatcher, ConcurrentRequestsShareAPassAndGetTheirOwnRows) {
  std::atomic<int64_t> largest{0};
  EmbeddingBatcher batcher(
      [&](const Rows& rows) {
        largest = std::max<int64_t>(largest, static_cast<int64_t>(rows.size()));
        return fake_encode(rows);
      },
      64, std::chrono::milliseconds(200));
  std::vector<std::thread> clients;
  std::vector<Vectors> results(8);
  for (int c = 0; c < 8; ++c)
    clients.emplace_back([&, c] { results[static_cast<size_t>(c)] = batcher.embed({{c * 10}, {c * 10 + 1, 0}}); });
  for (auto& t : clients) t.join();
  for (int c = 0; c < 8; ++c) {
    ASSERT_EQ(results[static_cast<size_t>(c)].size(), 2u);
    EXPECT_EQ(results[static_cast<size_t>(c)][0], (std::vector<float>{static_cast<float>(c * 10), 1}));
    EXPECT_EQ(results[static_cast<size_t>(c)][1], (std::vector<float>{static_cast<float>(c * 10 + 1), 2}));
  }
  // Eight requests arriving within the 200 ms wait need far fewer than eight passes.
  EXPECT_LT(batcher.passes(), 8);
  EXPECT_GT(largest.load(), 2);
}

TEST(EmbeddingBatcher, ALoneRequestWaitsAboutMaxWaitAndFullPassesGoAtOnce) {
  EmbeddingBatcher batcher(fake_encode, 4, std::chrono::milliseconds(50));
  auto start = std::chrono::steady_clock::now();
  batcher.embed({{1}});
  const auto alone = std::chrono::steady_clock::now() - start;
  EXPECT_GE(alone, std::chrono::milliseconds(40));
  EXPECT_LT(alone, std::chrono::milliseconds(2000));
  start = std::chrono::steady_clock::now();
  const auto big = batcher.embed({{1}, {2}, {3}, {4}, {5}});  // over max_rows: runs alone, at once
  EXPECT_EQ(big.size(), 5u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(40));
}

TEST(EmbeddingBatcher, EncoderErrorsReachTheRequest) {
  EmbeddingBatcher batcher([](const Rows&) -> Vectors { throw std::runtime_error("encoder broke"); }, 8, std::chrono::milliseconds(1));
  EXPECT_THROW(batcher.embed({{1}}), std::runtime_error);
  EXPECT_THROW(batcher.embed({{2}}), std::runtime_error);  // the worker survives
}

}  // namespace
}  // namespace garden::serve
