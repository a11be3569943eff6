// Sharded instructions and the tasks they belong to (lost-in-conversation.md, "Sharding an
// instruction"). An instruction is stored as one JSON object per line with the official
// repository's field names: {"task_id", "task", "shards": [{"shard_id": 1, "shard": "..."},
// ...], ...task fields}; shard 1 states the intent, each later shard adds one piece of
// information. A Task turns an instruction into its fully specified prompt and its CONCAT
// prompt, tells an answer attempt from other replies, and scores an attempt in [0, 100].
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "garden/core/json.h"

namespace garden::conversation {

struct Shard {
  int64_t id = 0;
  std::string text;
};

struct ShardedInstruction {
  std::string task_id, task;
  std::vector<Shard> shards;  // shards[0] is the intent (shard_id 1)
  Json fields = Json::object();  // the whole object as read (the task's own fields)
  Json to_json() const;
};

// Reads a JSONL file of sharded instructions (or, like the official data file, one JSON array
// of them); errors name the file, the line and the field.
std::vector<ShardedInstruction> read_sharded_instructions(const std::filesystem::path& path);
void write_sharded_instructions(const std::filesystem::path& path, const std::vector<ShardedInstruction>& instructions);

class Task {
 public:
  virtual ~Task() = default;
  virtual std::string name() const = 0;
  // The instruction in one turn (FULL).
  virtual std::string full_prompt(const ShardedInstruction& instruction) const = 0;
  // Every shard as a bullet list in one turn (CONCAT): "- s1\n- s2\n...".
  virtual std::string concat_prompt(const ShardedInstruction& instruction) const;
  // The ways a user may say shard `shard` in a later turn (the rule-based user picks one);
  // by default only the shard's own text.
  virtual std::vector<std::string> paraphrases(const ShardedInstruction& instruction, const Shard& shard) const;
  // The answer candidates a reply holds, in order: one is an answer attempt, several a hedge.
  virtual std::vector<std::string> answer_candidates(const std::string& reply) const = 0;
  // The score in [0, 100] of an extracted answer; 100 is a correct answer.
  virtual double evaluate(const std::string& answer, const ShardedInstruction& instruction) const = 0;
  // Refuses an instruction this task cannot evaluate (missing fields), naming `where`.
  virtual void validate(const ShardedInstruction& instruction, const std::string& where) const;
};

// "listspec" (text/listspec.h); an Error naming the task otherwise.
std::unique_ptr<Task> make_task(const std::string& name);

// `count` listspec instructions with ids "<prefix>-<i>", drawn from `seed`.
std::vector<ShardedInstruction> listspec_instructions(int64_t count, uint64_t seed, const std::string& prefix = "listspec");

// ---- the turn classifier ------------------------------------------------------------------

// The seven labels of the official turn classifier, decided by rules for synthetic tasks:
// "missing" for an empty reply; "answer_attempt" when the task's extractor finds exactly one
// answer and "hedge" when it finds several; otherwise "refuse" for a refusal ("cannot",
// "can't", "unable", "sorry"), "interrogation" for two or more questions, "clarification" for
// one, and "discussion" for the rest.
std::string classify_turn(const Task& task, const std::string& reply);
inline constexpr const char* kTurnLabels[] = {"answer_attempt", "clarification", "interrogation", "discussion",
                                              "hedge",          "refuse",        "missing"};

}  // namespace garden::conversation
