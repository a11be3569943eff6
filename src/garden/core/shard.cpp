#include "garden/core/shard.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "garden/core/error.h"

namespace garden {

namespace {

bool parse_count(const std::string& text, int64_t& value) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const long long parsed = std::strtoll(text.c_str(), &end, 10);
  if (*end != '\0' || errno != 0) return false;
  value = parsed;
  return true;
}

}  // namespace

ShardSpec shard_spec(const std::string& flag) {
  ShardSpec spec;
  if (!flag.empty()) {
    const auto slash = flag.find('/');
    if (slash == std::string::npos || !parse_count(flag.substr(0, slash), spec.rank) || !parse_count(flag.substr(slash + 1), spec.count) ||
        spec.count < 1 || spec.rank < 0 || spec.rank >= spec.count)
      usage_error(fmt::format("--shard must be R/N with 0 <= R < N (this rank's share of N), got '{}'", flag));
    return spec;
  }
  const char* rank = std::getenv("RANK");
  const char* world = std::getenv("WORLD_SIZE");
  if (rank == nullptr || world == nullptr) return spec;
  if (!parse_count(world, spec.count) || spec.count < 1)
    usage_error(fmt::format("$WORLD_SIZE must be a positive integer, got '{}'", world));
  if (!parse_count(rank, spec.rank) || spec.rank < 0 || spec.rank >= spec.count)
    usage_error(fmt::format("$RANK must be in 0..{} for $WORLD_SIZE {}, got '{}'", spec.count - 1, spec.count, rank));
  return spec;
}

std::pair<int64_t, int64_t> rank_share(int64_t count, int64_t rank, int64_t world) {
  if (world < 1 || rank < 0 || rank >= world || count < 0) throw Error(fmt::format("rank_share: rank {} of {} over {} items", rank, world, count));
  const int64_t base = count / world, extra = count % world;
  const int64_t begin = rank * base + std::min(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

std::pair<int64_t, int64_t> nonempty_share(int64_t count, const ShardSpec& spec, const std::string& what) {
  const auto share = rank_share(count, spec.rank, spec.count);
  if (spec.active() && share.first == share.second)
    usage_error(fmt::format("--shard {}/{}: {} {} leave this shard none; use fewer shards", spec.rank, spec.count, count, what));
  return share;
}

std::filesystem::path shard_path(const std::filesystem::path& path, const ShardSpec& spec) {
  if (!spec.active()) return path;
  const std::string tag = fmt::format(".shard-{}-of-{}", spec.rank, spec.count);
  auto result = path;
  if (path.has_extension()) return result.replace_extension(tag.substr(1) + path.extension().string()).string();
  return path.string() + tag;
}

}  // namespace garden
