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

std::optional<int64_t> integer_variable(const char* name, int64_t min, int64_t max) {
  const char* text = std::getenv(name);
  if (text == nullptr) return std::nullopt;
  int64_t value = 0;
  if (!parse_count(text, value) || value < min || value > max)
    usage_error(fmt::format("${} must be an integer in {}..{}, got '{}'", name, min, max, text));
  return value;
}

std::pair<std::string, int64_t> parse_host_port(const std::string& text, const std::string& flag) {
  const auto colon = text.rfind(':');
  std::string host = colon == std::string::npos ? "" : text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int64_t port = 0;
  if (host.empty() || colon == std::string::npos || !parse_count(text.substr(colon + 1), port) || port < 1 || port > 65535)
    usage_error(fmt::format("{} must be HOST:PORT (rank 0's address and a free port), got '{}'", flag, text));
  return {host, port};
}

ShardSpec shard_spec(const std::string& flag) {
  ShardSpec spec;
  if (!flag.empty()) {
    const auto slash = flag.find('/');
    if (slash == std::string::npos || !parse_count(flag.substr(0, slash), spec.rank) || !parse_count(flag.substr(slash + 1), spec.count) ||
        spec.count < 1 || spec.rank < 0 || spec.rank >= spec.count)
      usage_error(fmt::format("--shard must be R/N with 0 <= R < N (this rank's share of N), got '{}'", flag));
    return spec;
  }
  const auto world = integer_variable("WORLD_SIZE", 1, kMaxRanks);
  const auto rank = integer_variable("RANK", 0, kMaxRanks - 1);
  if (!world || !rank) return spec;
  if (*rank >= *world) usage_error(fmt::format("$RANK must be in 0..{} for $WORLD_SIZE {}, got {}", *world - 1, *world, *rank));
  return {*rank, *world};
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
