// garden eval multiturn: sharded instructions simulated with an assistant in the chosen modes,
// every conversation logged, and P, A, U per mode with the FULL -> mode degradation
// (lost-in-conversation.md, "Metrics").
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "garden/conversation/simulator.h"
#include "garden/eval/multiturn.h"

namespace garden::conversation {

struct MultiturnOptions {
  std::filesystem::path tasks;  // sharded instructions (JSONL, or a JSON array)
  std::vector<Mode> modes = {Mode::full, Mode::concat, Mode::sharded};
  int64_t limit = 0;            // the first N instructions; 0 = all
  SimulationOptions simulation;
  bool shuffle = true, paraphrase = true;  // the rule-based user's reveal order and wording
  std::filesystem::path out;    // logs/<mode>.jsonl and results.json; claimed as this command's own
  bool quiet = false;           // no progress bar per mode
};

struct ModeResult {
  Mode mode = Mode::full;
  eval::ReliabilityStats stats;
  int64_t conversations = 0;
  double mean_assistant_turns = 0;
  double drop_from_full = 0;  // 1 - P / P_FULL (0 when FULL was not simulated)
};

struct MultiturnResult {
  std::string assistant;
  int64_t instructions = 0;
  std::vector<ModeResult> modes;  // in the order asked; RECAP brings its SHARDED run along
  Json to_json() const;
};

MultiturnResult evaluate_multiturn(const MultiturnOptions& options, Assistant& assistant);

}  // namespace garden::conversation
