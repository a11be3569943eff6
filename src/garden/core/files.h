// File helpers: every output garden writes goes through write_file_atomic (temp file in
// the same folder + rename), so a crash or Ctrl-C never leaves a half-written file.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace garden {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path);
void write_file_atomic(const fs::path& path, const std::string& contents);
// Appends one line (a newline is added) and flushes; for logs such as metrics.jsonl.
void append_line(const fs::path& path, const std::string& line);
// Replaces folder `target` by `staged` (a fully written sibling folder) in one rename.
void replace_dir_atomic(const fs::path& staged, const fs::path& target);
// Makes `dir` the output folder of `owner` (e.g. "garden repro limit"): creates it when
// absent, and accepts it when empty or when its marker file (.garden-output) names the same
// owner, i.e. when it holds that command's own earlier output. Anything else (someone
// else's files, another command's output, a file) is refused with an error naming `flag`,
// so a command never writes into or over what it did not make.
void claim_output_dir(const fs::path& dir, const std::string& owner, const std::string& flag = "--out");
// A fresh sibling path for staging: "<path>.tmp-<pid>-<n>".
fs::path staging_path(const fs::path& path);
std::string sha256_hex(const std::string& bytes);
std::string sha256_file_hex(const fs::path& path);

}  // namespace garden
