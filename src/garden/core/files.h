// File helpers: every output garden writes goes through write_file_atomic (temp file in
// the same folder, flushed to disk, renamed over) or replace_dir_atomic, so a crash or
// Ctrl-C never leaves a half-written or missing output.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace garden {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path);
void write_file_atomic(const fs::path& path, const std::string& contents);
// Appends one line (a newline is added) and flushes; for logs such as metrics.jsonl.
void append_line(const fs::path& path, const std::string& line);
// Replaces folder `target` by `staged` (a fully written sibling folder): flushes the staged
// tree to disk, then exchanges the two names in one atomic rename, so `target` always holds
// a complete folder, and removes the old one. The target's .garden-output marker
// (claim_output_dir) is carried into the new folder, so an output folder claimed before the
// work stays its command's own after the swap.
void replace_dir_atomic(const fs::path& staged, const fs::path& target);
// Makes `dir` the output folder of `owner` (e.g. "garden repro limit"): creates it when
// absent, and accepts it when empty or when its marker file (.garden-output) names the same
// owner, i.e. when it holds that command's own earlier output. Anything else (someone
// else's files, another command's output, a file) is refused with an error naming `flag`,
// so a command never writes into or over what it did not make.
void claim_output_dir(const fs::path& dir, const std::string& owner, const std::string& flag = "--out");
// An output file may replace only the command's own earlier output: when `out` exists and is
// not a regular file that `is_ours` accepts (a garden::Error from it counts as no), a usage
// error "--out OUT exists and is not WHAT: choose another path", before any work.
void refuse_foreign_output_file(const fs::path& out, const std::string& what, const std::function<bool(const fs::path&)>& is_ours);
// Refuses an output folder that is, or holds, an input the command reads (e.g. --corpus X
// --out X), since replacing the output would delete the input.
void refuse_output_over_input(const fs::path& out, const std::string& out_flag, const fs::path& input, const std::string& input_flag);
// A fresh sibling path for staging: "<path>.tmp-<pid>-<n>". Removes `path`'s stale staging
// first (remove_dead_staging).
fs::path staging_path(const fs::path& path);
// Removes the staging siblings of `path` ("<path>.tmp-PID-N") whose process is dead, left by
// a kill or a crash, and puts back an old folder a crash left moved aside
// ("<path>.old-PID-N") when `path` is missing. Staging of live processes is left alone.
void remove_dead_staging(const fs::path& path);
std::string sha256_hex(const std::string& bytes);
std::string sha256_file_hex(const fs::path& path);

}  // namespace garden
