#include "garden/core/files.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "garden/core/error.h"

namespace garden {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read " + path.string() + ": no such file or not readable");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

namespace {

// "<path>.<kind>-<pid>-<n>": staging ("tmp") or an old folder moved aside ("old").
fs::path sibling_path(const fs::path& path, const char* kind) {
  static std::atomic<int> counter{0};
  return fs::path(path.string() + "." + kind + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
}

// The pid in `name` when it is "<base>.<kind>-<pid>-<n>", else 0.
pid_t sibling_owner(const std::string& name, const std::string& base, const std::string& kind) {
  const std::string prefix = base + "." + kind + "-";
  if (name.rfind(prefix, 0) != 0) return 0;
  const auto dash = name.find('-', prefix.size());
  const auto digits = [](const std::string& text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  const auto pid = name.substr(prefix.size(), dash == std::string::npos ? std::string::npos : dash - prefix.size());
  if (dash == std::string::npos || !digits(pid) || !digits(name.substr(dash + 1)) || pid.size() > 9) return 0;
  return static_cast<pid_t>(std::stol(pid));
}

// EPERM: the process exists but belongs to another user.
bool process_alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

fs::path folder_of(const fs::path& path) { return path.has_parent_path() ? path.parent_path() : fs::path("."); }

// Flushes a file's data, or a folder's entries, to disk: rename() orders nothing, so without
// this a crash soon after a rename can leave the new name pointing at empty or missing data.
void sync_to_disk(const fs::path& path, bool folder) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (folder ? O_DIRECTORY : 0));
  if (fd < 0) throw Error("cannot open " + path.string() + " to flush it to disk: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  if (rc != 0) throw Error("cannot flush " + path.string() + " to disk: " + std::strerror(saved));
}

void sync_tree_to_disk(const fs::path& dir) {
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.is_regular_file() || entry.is_directory()) sync_to_disk(entry.path(), entry.is_directory());
  sync_to_disk(dir, true);
}

}  // namespace

fs::path staging_path(const fs::path& path) {
  remove_dead_staging(path);
  return sibling_path(path, "tmp");
}

void remove_dead_staging(const fs::path& path) {
  const auto folder = folder_of(path);
  const auto base = path.filename().string();
  if (base.empty() || !fs::is_directory(folder)) return;
  std::vector<fs::path> staged, old;
  for (const auto& entry : fs::directory_iterator(folder)) {
    const auto name = entry.path().filename().string();
    for (auto [kind, found] : {std::pair{"tmp", &staged}, std::pair{"old", &old}}) {
      const pid_t pid = sibling_owner(name, base, kind);
      if (pid > 0 && pid != ::getpid() && !process_alive(pid)) found->push_back(entry.path());
    }
  }
  for (const auto& p : staged) fs::remove_all(p);
  for (const auto& p : old) {
    // A crash between the two renames of the fallback in replace_dir_atomic: the old folder
    // is the only complete copy, so it goes back.
    if (!fs::exists(path)) fs::rename(p, path);
    else fs::remove_all(p);
  }
}

void claim_output_dir(const fs::path& dir, const std::string& owner, const std::string& flag) {
  remove_dead_staging(dir);
  const fs::path marker = dir / ".garden-output";
  // A command killed while writing the marker leaves only the marker's staging in the folder;
  // left there, it would make the folder look foreign to every later run.
  remove_dead_staging(marker);
  if (fs::exists(dir) && !fs::is_directory(dir))
    usage_error(flag + " " + dir.string() + " is a file, not a folder");
  if (fs::exists(marker)) {
    std::string written_by = read_file(marker);
    while (!written_by.empty() && written_by.back() == '\n') written_by.pop_back();
    if (written_by == owner) return;
    usage_error(flag + " " + dir.string() + " holds the output of '" + written_by + "', not of '" + owner +
                "': choose another folder");
  }
  if (fs::exists(dir) && !fs::is_empty(dir))
    usage_error(flag + " " + dir.string() + " already holds files that garden did not write there: choose an empty or new folder");
  fs::create_directories(dir);
  write_file_atomic(marker, owner + "\n");
}

void refuse_foreign_output_file(const fs::path& out, const std::string& what, const std::function<bool(const fs::path&)>& is_ours) {
  if (!fs::exists(out)) return;
  bool ours = false;
  if (fs::is_regular_file(out)) {
    try {
      ours = is_ours(out);
    } catch (const Error&) {
    }
  }
  if (!ours) usage_error("--out " + out.string() + " exists and is not " + what + ": choose another path");
}

void refuse_output_over_input(const fs::path& out, const std::string& out_flag, const fs::path& input, const std::string& input_flag) {
  auto resolved = [](const fs::path& p) {
    const auto full = fs::weakly_canonical(fs::absolute(p));
    return full.has_filename() ? full : full.parent_path();  // "x/" names the folder x
  };
  const auto o = resolved(out), i = resolved(input);
  if (std::mismatch(o.begin(), o.end(), i.begin(), i.end()).first == o.end())
    usage_error(out_flag + " " + out.string() + " is or holds " + input_flag + " " + input.string() +
                ", which writing the output would delete: choose another folder");
}

void write_file_atomic(const fs::path& path, const std::string& contents) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  const fs::path tmp = staging_path(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("cannot write " + tmp.string() + ": check the folder exists and is writable");
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.close();
    if (!out) {
      std::error_code ignored;
      fs::remove(tmp, ignored);
      throw Error("write failed for " + path.string() + " (disk full?)");
    }
  }
  sync_to_disk(tmp, false);
  fs::rename(tmp, path);
  sync_to_disk(folder_of(path), true);
}

void append_line(const fs::path& path, const std::string& line) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::app);
  if (!out) throw Error("cannot append to " + path.string());
  out << line << '\n';
  out.flush();
}

void replace_dir_atomic(const fs::path& staged, const fs::path& target) {
  const auto marker = target / ".garden-output";
  if (fs::exists(marker) && !fs::exists(staged / ".garden-output")) fs::copy_file(marker, staged / ".garden-output");
  sync_tree_to_disk(staged);
  const auto folder = folder_of(target);
  if (!fs::exists(target)) {
    fs::rename(staged, target);
    sync_to_disk(folder, true);
    return;
  }
  // rename() cannot replace a non-empty folder; exchanging the two names is one atomic step,
  // so `target` is at every moment a complete folder, the old one or the new one.
  if (::renameat2(AT_FDCWD, staged.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) {
    sync_to_disk(folder, true);
    fs::remove_all(staged);  // the old folder, now under the staging name
    return;
  }
  if (errno != EINVAL && errno != ENOSYS)
    throw Error("cannot replace " + target.string() + " by " + staged.string() + ": " + std::strerror(errno));
  // File systems without RENAME_EXCHANGE (NFS, some FUSE): two renames. A crash between them
  // leaves the old folder as "<target>.old-PID-N", which remove_dead_staging puts back.
  const auto old = sibling_path(target, "old");
  fs::rename(target, old);
  fs::rename(staged, target);
  sync_to_disk(folder, true);
  fs::remove_all(old);
}

namespace {
std::string to_hex(const unsigned char* digest, unsigned length) {
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < length; ++i) {
    hex += digits[digest[i] >> 4];
    hex += digits[digest[i] & 15];
  }
  return hex;
}
}  // namespace

std::string sha256_hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  return to_hex(digest, length);
}

std::string sha256_file_hex(const fs::path& path) { return sha256_hex(read_file(path)); }

}  // namespace garden
