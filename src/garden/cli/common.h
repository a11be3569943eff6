// Option groups shared by subcommands, and the registry of subcommands. Parsing and
// printing only: every subcommand calls one library function.
#pragma once

#include <CLI/CLI.hpp>

#include <map>
#include <string>

#include "garden/core/json.h"

namespace garden::cli {

struct RuntimeOptions {
  int threads = 0;              // 0 = all cores
  std::string device = "auto";  // auto | cpu | cuda
  std::string data;             // data root; empty = $GARDEN_DATA
  std::string cache;            // artifact cache; empty = $GARDEN_CACHE or ~/.cache/garden
};

void add_runtime_options(CLI::App& app, RuntimeOptions& options);

// One flag per field of `defaults` (field some_name -> --some-name), typed after the
// default's JSON type. After parsing, apply_json_flags writes the given ones into `target`.
void add_json_flags(CLI::App& app, const Json& defaults, std::map<std::string, std::string>& given,
                    const std::string& group);
void apply_json_flags(const std::map<std::string, std::string>& given, const Json& defaults, Json& target);

// The run-folder group of the training commands: --config, --out, --resume, --stop-after.
struct RunFolderOptions {
  std::string config, out;
  bool resume = false;
  int64_t stop_after = 0;
};
void add_run_folder_options(CLI::App& app, RunFolderOptions& options);

// The encoder group of the commands that embed texts: --model (required) and --batch.
struct EncoderOptions {
  std::string model;
  int64_t batch = 64;
};
void add_encoder_options(CLI::App& app, EncoderOptions& options);

// Today's date in UTC, YYYY-MM-DD (the wiki's log headings).
std::string today_utc();

// "7" or "4..16" -> (from, to) with 1 <= from <= to; a usage error naming `flag` otherwise.
std::pair<int64_t, int64_t> parse_int_range(const std::string& text, const std::string& flag);

void register_data(CLI::App& app);
void register_tokenizer(CLI::App& app);
void register_lm(CLI::App& app);
void register_eval(CLI::App& app);
void register_index(CLI::App& app);
void register_repro(CLI::App& app);
void register_succinct(CLI::App& app);
void register_limit(CLI::App& app);
void register_embed(CLI::App& app);
void register_serve(CLI::App& app);
void register_export(CLI::App& app);
void register_collapse(CLI::App& app);
void register_dsi(CLI::App& app);
void register_llm2vec_gen(CLI::App& app);
void register_wiki(CLI::App& app);
void register_rag(CLI::App& app);
void register_agent(CLI::App& app);
void register_launch(CLI::App& app);
void register_rl(CLI::App& app);  // after register_eval: it adds eval passk
void register_creative(CLI::App& app);
// Subcommands of the eval and data groups that live in cli/multiturn.cpp (it needs libtorch).
void register_eval_multiturn(CLI::App& eval);
void register_data_listspec(CLI::App& data);

}  // namespace garden::cli
