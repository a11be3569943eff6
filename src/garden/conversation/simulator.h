// The conversation simulator of "LLMs Get Lost In Multi-Turn Conversation" (lost-in-
// conversation.md, "Simulation types"), after the official simulators:
//   FULL      the fully specified instruction in one turn;
//   CONCAT    every shard as a bullet list in one turn;
//   SHARDED   turn 1 is shard 1 verbatim; after each assistant turn the user reveals one shard
//             not yet revealed; the conversation ends at the first correct answer attempt or
//             after the reply to the last shard, and its score is the last evaluated attempt
//             (0 when the assistant never attempted);
//   RECAP     a finished SHARDED conversation plus one user turn restating every shard ("Just
//             to recapitulate, the entire task is: ...") and one more reply, which is scored;
//   SNOWBALL  SHARDED where each later user turn restates everything said so far ("Just to
//             reiterate, - ... Also, ...") before the new shard.
// Every assistant turn is labelled by the rule-based classifier (task.h); answer attempts are
// extracted and scored against the whole instruction. Many conversations advance together, one
// turn at a time, so a local model answers a whole turn of them as one batch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "garden/conversation/task.h"
#include "garden/core/json.h"

namespace garden::conversation {

enum class Mode { full, concat, sharded, recap, snowball };
std::string to_string(Mode mode);
Mode parse_mode(const std::string& name);  // a usage error naming the mode otherwise

struct Message {
  std::string role;  // system | user | assistant
  std::string content;
};

// The assistant under test: one reply to each conversation of a turn, conversation i sampled
// with seeds[i] at `temperature` (0 = greedy).
class Assistant {
 public:
  virtual ~Assistant() = default;
  virtual std::string name() const = 0;
  virtual std::vector<std::string> reply(const std::vector<std::vector<Message>>& conversations, const std::vector<uint64_t>& seeds,
                                         double temperature) = 0;
};

// The user of a sharded conversation: which shard comes next and how it is said.
class UserSimulator {
 public:
  virtual ~UserSimulator() = default;
  struct Reveal {
    int64_t shard_id = 0;
    std::string text;
  };
  // The next shard, given those already revealed (shard 1 first); none when all are.
  virtual std::optional<Reveal> next(const Task& task, const ShardedInstruction& instruction, const std::vector<int64_t>& revealed,
                                     std::mt19937_64& rng) const = 0;
};

// The rule-based user: shard 1 verbatim first, then the others in order or in a random order,
// each said verbatim or in one of the task's paraphrases, chosen at random.
class RuleBasedUser final : public UserSimulator {
 public:
  RuleBasedUser(bool shuffle = true, bool paraphrase = true) : shuffle_(shuffle), paraphrase_(paraphrase) {}
  std::optional<Reveal> next(const Task& task, const ShardedInstruction& instruction, const std::vector<int64_t>& revealed,
                             std::mt19937_64& rng) const override;

 private:
  bool shuffle_, paraphrase_;
};

struct Turn {
  std::string role;  // user | assistant
  std::string content;
  std::vector<int64_t> shards;  // user: the shards this turn states
  std::string label;            // assistant: the turn classifier's label
  std::optional<std::string> answer;  // assistant: the extracted answer attempt
  std::optional<double> score;        // assistant: the attempt's score
};

struct ConversationLog {
  std::string conv_id, task_id, task, mode, assistant;
  int64_t run = 0;  // 0..N-1: the simulation's index for this instruction
  uint64_t seed = 0;
  double temperature = 1;
  std::string source_conv_id;  // RECAP: the SHARDED conversation it extends
  std::vector<Turn> turns;
  double score = 0;            // the last evaluated attempt's score (0 without any)
  bool correct = false;        // score 100
  int64_t first_attempt = 0;   // the assistant turn (1-based) of the first answer attempt; 0 none
  int64_t assistant_turns() const;
  Json to_json() const;
  static ConversationLog from_json(const Json& object, const std::string& where);
};

struct SimulationOptions {
  int64_t runs = 10;         // N simulations per instruction
  double temperature = 1.0;  // the assistant's
  uint64_t seed = 0;         // the user's choices and the assistant's sampling derive from it
  // Called after every turn with (conversations finished, total).
  std::function<void(int64_t, int64_t)> progress;
};

// The seed of simulation `run` of an instruction: the user's generator (reveal order and
// paraphrases) starts from it, the same in SHARDED and SNOWBALL, so the two modes reveal the
// same shards in the same order.
uint64_t conversation_seed(uint64_t seed, const std::string& task_id, int64_t run);

// Runs `runs` simulations of every instruction in FULL, CONCAT, SHARDED or SNOWBALL mode
// (RECAP extends SHARDED logs: recap()). Logs come in instruction order, runs in order.
std::vector<ConversationLog> simulate(const Task& task, const std::vector<ShardedInstruction>& instructions, Mode mode,
                                      Assistant& assistant, const UserSimulator& user, const SimulationOptions& options);

// RECAP: every SHARDED log (of these instructions) extended by the recap turn and one reply.
std::vector<ConversationLog> recap(const Task& task, const std::vector<ShardedInstruction>& instructions,
                                   const std::vector<ConversationLog>& sharded, Assistant& assistant, const SimulationOptions& options);

// The user turns' texts of RECAP and SNOWBALL, as the official simulators write them.
std::string recap_message(const std::string& concat_prompt);
std::string snowball_message(const std::vector<std::string>& said_before, const std::string& new_shard);

// The messages the assistant sees for a log's turns.
std::vector<Message> messages_of(const ConversationLog& log);

// One JSON object per conversation; read_logs checks every field it needs.
void write_logs(const std::filesystem::path& path, const std::vector<ConversationLog>& logs);
std::vector<ConversationLog> read_logs(const std::filesystem::path& path);

// Each instruction's scores, for eval::aggregate_stats.
std::map<std::string, std::vector<double>> scores_by_instruction(const std::vector<ConversationLog>& logs);

}  // namespace garden::conversation
