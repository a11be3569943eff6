// Work split over ranks that need not talk to each other: sharded corpus encoding and
// indexing. Rank r of n takes the contiguous share rank_share(count, r, n) of the items, and
// its output goes beside the one an unsharded run would write, named for the shard.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>

namespace garden {

// The most ranks (or shards) any setting may name: far past any real job, it keeps a typo from
// starting a million processes or waiting for them.
inline constexpr int64_t kMaxRanks = 1 << 16;

struct ShardSpec {
  int64_t rank = 0, count = 1;
  bool active() const { return count > 1; }
};

// The integer in environment variable `name`, or nothing when it is unset; a usage error
// naming it when it is not an integer in [min, max].
std::optional<int64_t> integer_variable(const char* name, int64_t min, int64_t max);

// "HOST:PORT" (an IPv6 host may be in brackets) -> (host, port in 1..65535); a usage error
// naming `flag` otherwise.
std::pair<std::string, int64_t> parse_host_port(const std::string& text, const std::string& flag);

// "R/N" from a --shard flag; with the flag empty, the environment's RANK and WORLD_SIZE (as
// garden launch and torchrun set them) where both are set; else the whole (0/1). A usage
// error names the flag or variable that is malformed or out of range.
ShardSpec shard_spec(const std::string& flag);

// The contiguous share [begin, end) of `count` items that `rank` of `world` handles: the
// first count % world ranks take one item more. Ranks in order cover 0..count exactly once.
std::pair<int64_t, int64_t> rank_share(int64_t count, int64_t rank, int64_t world);

// rank_share of `count` items for a shard of several that must not be empty: a usage error
// naming the shard otherwise (more shards than items).
std::pair<int64_t, int64_t> nonempty_share(int64_t count, const ShardSpec& spec, const std::string& what);

// Where shard `spec` of `path` goes: vectors.npy -> vectors.shard-1-of-4.npy, an index folder
// idx -> idx.shard-1-of-4. The path itself when the spec is the whole.
std::filesystem::path shard_path(const std::filesystem::path& path, const ShardSpec& spec);

}  // namespace garden
