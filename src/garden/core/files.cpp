#include "garden/core/files.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
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

fs::path staging_path(const fs::path& path) {
  static std::atomic<int> counter{0};
  return fs::path(path.string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                  std::to_string(counter++));
}

void claim_output_dir(const fs::path& dir, const std::string& owner, const std::string& flag) {
  const fs::path marker = dir / ".garden-output";
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
    out.flush();
    if (!out) {
      std::error_code ignored;
      fs::remove(tmp, ignored);
      throw Error("write failed for " + path.string() + " (disk full?)");
    }
  }
  fs::rename(tmp, path);
}

void append_line(const fs::path& path, const std::string& line) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::app);
  if (!out) throw Error("cannot append to " + path.string());
  out << line << '\n';
  out.flush();
}

void replace_dir_atomic(const fs::path& staged, const fs::path& target) {
  // rename() cannot replace a non-empty folder, so the old one is moved aside first and
  // removed only once the new one is in place.
  fs::path old;
  if (fs::exists(target)) {
    const auto marker = target / ".garden-output";
    if (fs::exists(marker) && !fs::exists(staged / ".garden-output")) fs::copy_file(marker, staged / ".garden-output");
    old = staging_path(target);
    fs::rename(target, old);
  }
  fs::rename(staged, target);
  if (!old.empty()) fs::remove_all(old);
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
