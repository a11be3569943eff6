// Sharded work: shares cover every item once in order, the --shard flag and the launcher's
// variables are read (and refused when malformed), and shard outputs are named beside the
// unsharded one.
#include "garden/core/shard.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "garden/core/error.h"

namespace garden {
namespace {

TEST(Shard, SharesCoverEveryItemOnceInOrder) {
  EXPECT_EQ(rank_share(10, 0, 3), std::make_pair(int64_t{0}, int64_t{4}));
  EXPECT_EQ(rank_share(10, 1, 3), std::make_pair(int64_t{4}, int64_t{7}));
  EXPECT_EQ(rank_share(10, 2, 3), std::make_pair(int64_t{7}, int64_t{10}));
  for (int64_t count : {0, 1, 5, 17})
    for (int64_t world : {1, 2, 3, 8}) {
      int64_t next = 0;
      for (int64_t rank = 0; rank < world; ++rank) {
        const auto [begin, end] = rank_share(count, rank, world);
        EXPECT_EQ(begin, next);
        EXPECT_LE(end - begin, count / world + 1);
        next = end;
      }
      EXPECT_EQ(next, count);
    }
  EXPECT_THROW(rank_share(5, 2, 2), Error);
  EXPECT_EQ(nonempty_share(0, {0, 1}, "texts"), std::make_pair(int64_t{0}, int64_t{0}));  // unsharded: the caller decides
  EXPECT_THROW(nonempty_share(2, {2, 3}, "texts"), Error);
}

TEST(Shard, FlagThenEnvironmentThenWhole) {
  unsetenv("RANK");
  unsetenv("WORLD_SIZE");
  EXPECT_FALSE(shard_spec("").active());
  const auto given = shard_spec("1/4");
  EXPECT_EQ(given.rank, 1);
  EXPECT_EQ(given.count, 4);
  for (const char* bad : {"4/4", "1", "a/2", "-1/2", "1/0", "1/2/3"}) EXPECT_THROW(shard_spec(bad), Error) << bad;
  setenv("RANK", "2", 1);
  setenv("WORLD_SIZE", "3", 1);
  EXPECT_EQ(shard_spec("").rank, 2);
  EXPECT_EQ(shard_spec("0/2").count, 2);  // the flag wins
  setenv("RANK", "3", 1);
  EXPECT_THROW(shard_spec(""), Error);
  unsetenv("RANK");
  unsetenv("WORLD_SIZE");
}

TEST(Shard, OutputsAreNamedForTheirShard) {
  EXPECT_EQ(shard_path("out/vectors.npy", {1, 4}), "out/vectors.shard-1-of-4.npy");
  EXPECT_EQ(shard_path("out/idx", {0, 2}), "out/idx.shard-0-of-2");
  EXPECT_EQ(shard_path("out/vectors.npy", {0, 1}), "out/vectors.npy");
}

}  // namespace
}  // namespace garden
