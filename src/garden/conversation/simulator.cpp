#include "garden/conversation/simulator.h"

#include <fmt/core.h>

#include <algorithm>

#include "garden/core/files.h"

namespace garden::conversation {

namespace {

// SplitMix64's finaliser: nearby inputs (runs 0, 1, 2, turns 1, 2, ...) give unrelated seeds.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t hash_text(const std::string& text) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

// The assistant's sampling seed for one turn of one conversation in one mode: 63 bits, so an
// OpenAI-compatible endpoint (whose seed is a signed 64-bit integer) gets the same seed.
uint64_t reply_seed(uint64_t conversation, Mode mode, int64_t assistant_turn) {
  return mix(conversation ^ mix(static_cast<uint64_t>(mode) * 1000 + static_cast<uint64_t>(assistant_turn))) >> 1;
}

struct Live {
  const ShardedInstruction* instruction = nullptr;
  ConversationLog log;
  std::mt19937_64 user_rng;
  std::vector<int64_t> revealed;
  std::vector<std::string> said;  // SNOWBALL: what the user said so far, in order
  bool done = false;
};

// Scores an assistant turn (appended last) and records it in the log.
void judge_reply(const Task& task, const ShardedInstruction& instruction, ConversationLog& log) {
  auto& turn = log.turns.back();
  turn.label = classify_turn(task, turn.content);
  if (turn.label != "answer_attempt") return;
  turn.answer = task.answer_candidates(turn.content).front();
  turn.score = task.evaluate(*turn.answer, instruction);
  log.score = *turn.score;
  log.correct = *turn.score >= 100;
  if (log.first_attempt == 0) log.first_attempt = log.assistant_turns();
}

// Advances every live conversation by assistant turns until all are done: `after_reply`
// decides whether a conversation goes on and, if so, appends its next user turn.
void converse(std::vector<Live>& live, Mode mode, Assistant& assistant, const SimulationOptions& options,
              const std::function<void(Live&)>& after_reply) {
  const auto total = static_cast<int64_t>(live.size());
  while (true) {
    std::vector<Live*> active;
    for (auto& l : live)
      if (!l.done) active.push_back(&l);
    if (active.empty()) break;
    std::vector<std::vector<Message>> conversations;
    std::vector<uint64_t> seeds;
    for (auto* l : active) {
      conversations.push_back(messages_of(l->log));
      seeds.push_back(reply_seed(l->log.seed, mode, l->log.assistant_turns() + 1));
    }
    const auto replies = assistant.reply(conversations, seeds, options.temperature);
    if (replies.size() != active.size())
      throw Error(fmt::format("assistant {} answered {} of {} conversations", assistant.name(), replies.size(), active.size()));
    for (size_t i = 0; i < active.size(); ++i) {
      auto& l = *active[i];
      l.log.turns.push_back({"assistant", replies[i], {}, "", std::nullopt, std::nullopt});
      after_reply(l);
    }
    if (options.progress) {
      int64_t finished = 0;
      for (const auto& l : live) finished += l.done;
      options.progress(finished, total);
    }
  }
}

ConversationLog new_log(const ShardedInstruction& instruction, Mode mode, int64_t run, const std::string& assistant,
                        const SimulationOptions& options) {
  ConversationLog log;
  log.task_id = instruction.task_id;
  log.task = instruction.task;
  log.mode = to_string(mode);
  log.assistant = assistant;
  log.run = run;
  log.seed = conversation_seed(options.seed, instruction.task_id, run);
  log.temperature = options.temperature;
  log.conv_id = fmt::format("{}/{}/{}", log.mode, instruction.task_id, run);
  return log;
}

std::vector<int64_t> all_shard_ids(const ShardedInstruction& instruction) {
  std::vector<int64_t> ids;
  for (const auto& s : instruction.shards) ids.push_back(s.id);
  return ids;
}

}  // namespace

std::string to_string(Mode mode) {
  switch (mode) {
    case Mode::full: return "full";
    case Mode::concat: return "concat";
    case Mode::sharded: return "sharded";
    case Mode::recap: return "recap";
    case Mode::snowball: return "snowball";
  }
  return {};
}

Mode parse_mode(const std::string& name) {
  for (auto mode : {Mode::full, Mode::concat, Mode::sharded, Mode::recap, Mode::snowball})
    if (name == to_string(mode)) return mode;
  usage_error("unknown simulation mode '" + name + "' (full, concat, sharded, recap, snowball)");
}

std::optional<UserSimulator::Reveal> RuleBasedUser::next(const Task& task, const ShardedInstruction& instruction,
                                                         const std::vector<int64_t>& revealed, std::mt19937_64& rng) const {
  if (revealed.empty()) return Reveal{instruction.shards.front().id, instruction.shards.front().text};
  std::vector<const Shard*> hidden;
  for (const auto& s : instruction.shards)
    if (std::find(revealed.begin(), revealed.end(), s.id) == revealed.end()) hidden.push_back(&s);
  if (hidden.empty()) return std::nullopt;
  const Shard& shard = shuffle_ ? *hidden[std::uniform_int_distribution<size_t>(0, hidden.size() - 1)(rng)] : *hidden.front();
  const auto forms = paraphrase_ ? task.paraphrases(instruction, shard) : std::vector<std::string>{shard.text};
  if (forms.empty()) throw Error("task " + task.name() + " gave no way to say shard " + std::to_string(shard.id));
  return Reveal{shard.id, forms[std::uniform_int_distribution<size_t>(0, forms.size() - 1)(rng)]};
}

int64_t ConversationLog::assistant_turns() const {
  return std::count_if(turns.begin(), turns.end(), [](const Turn& t) { return t.role == "assistant"; });
}

Json ConversationLog::to_json() const {
  Json trace = Json::array();
  for (const auto& t : turns) {
    Json turn = {{"role", t.role}, {"content", t.content}};
    if (t.role == "user") turn["shards"] = t.shards;
    if (t.role == "assistant") {
      turn["label"] = t.label;
      turn["answer"] = t.answer ? Json(*t.answer) : Json(nullptr);
      turn["score"] = t.score ? Json(*t.score) : Json(nullptr);
    }
    trace.push_back(turn);
  }
  Json object = {{"conv_id", conv_id},         {"task_id", task_id}, {"task", task},   {"mode", mode},
                 {"assistant", assistant},     {"run", run},         {"seed", seed},   {"temperature", temperature},
                 {"score", score},             {"is_correct", correct}, {"first_attempt_turn", first_attempt},
                 {"trace", trace}};
  if (!source_conv_id.empty()) object["source_conv_id"] = source_conv_id;
  return object;
}

ConversationLog ConversationLog::from_json(const Json& object, const std::string& where) {
  ConversationLog log;
  for (const char* key : {"conv_id", "task_id", "mode", "score", "trace"})
    if (!object.contains(key)) throw Error(where + ": no '" + key + "'");
  read_field(object, "conv_id", log.conv_id, where);
  read_field(object, "task_id", log.task_id, where);
  read_field(object, "task", log.task, where);
  read_field(object, "mode", log.mode, where);
  parse_mode(log.mode);
  read_field(object, "assistant", log.assistant, where);
  read_field(object, "run", log.run, where);
  read_field(object, "seed", log.seed, where);
  read_field(object, "temperature", log.temperature, where);
  read_field(object, "source_conv_id", log.source_conv_id, where);
  read_field(object, "score", log.score, where);
  read_field(object, "is_correct", log.correct, where);
  read_field(object, "first_attempt_turn", log.first_attempt, where);
  if (!object["trace"].is_array()) throw Error(where + ": 'trace' must be a list of turns");
  for (const auto& t : object["trace"]) {
    if (!t.is_object()) throw Error(where + ": a turn must be an object");
    Turn turn;
    read_field(t, "role", turn.role, where);
    if (turn.role != "user" && turn.role != "assistant" && turn.role != "system")
      throw Error(where + ": a turn's role must be user, assistant or system, got '" + turn.role + "'");
    read_field(t, "content", turn.content, where);
    read_field(t, "shards", turn.shards, where);
    read_field(t, "label", turn.label, where);
    if (t.contains("answer") && !t["answer"].is_null()) turn.answer = t["answer"].get<std::string>();
    if (t.contains("score") && !t["score"].is_null()) {
      if (!t["score"].is_number()) throw Error(where + ": a turn's score must be a number");
      turn.score = t["score"].get<double>();
    }
    log.turns.push_back(std::move(turn));
  }
  return log;
}

uint64_t conversation_seed(uint64_t seed, const std::string& task_id, int64_t run) {
  return mix(mix(seed) ^ mix(hash_text(task_id)) ^ static_cast<uint64_t>(run));
}

std::vector<Message> messages_of(const ConversationLog& log) {
  std::vector<Message> messages;
  for (const auto& t : log.turns) messages.push_back({t.role, t.content});
  return messages;
}

std::string recap_message(const std::string& concat_prompt) {
  return "Just to recapitulate, the entire task is:\n\n" + concat_prompt +
         "\n\nNow please complete the task correctly taking all the information into account.";
}

std::string snowball_message(const std::vector<std::string>& said_before, const std::string& new_shard) {
  std::string text = "Just to reiterate,\n";
  for (size_t i = 0; i < said_before.size(); ++i) text += (i ? "\n- " : "- ") + said_before[i];
  return text + "\n\nAlso,\n\n" + new_shard + "\n";
}

std::vector<ConversationLog> simulate(const Task& task, const std::vector<ShardedInstruction>& instructions, Mode mode,
                                      Assistant& assistant, const UserSimulator& user, const SimulationOptions& options) {
  if (mode == Mode::recap) usage_error("RECAP extends SHARDED conversations: simulate SHARDED, then recap()");
  if (options.runs < 1) usage_error("--runs must be >= 1");
  std::vector<Live> live;
  for (const auto& instruction : instructions) {
    task.validate(instruction, instruction.task_id);
    for (int64_t run = 0; run < options.runs; ++run) {
      Live l;
      l.instruction = &instruction;
      l.log = new_log(instruction, mode, run, assistant.name(), options);
      l.user_rng.seed(l.log.seed);
      if (mode == Mode::full) {
        l.log.turns.push_back({"user", task.full_prompt(instruction), all_shard_ids(instruction), "", std::nullopt, std::nullopt});
      } else if (mode == Mode::concat) {
        l.log.turns.push_back({"user", task.concat_prompt(instruction), all_shard_ids(instruction), "", std::nullopt, std::nullopt});
      } else {
        const auto first = user.next(task, instruction, l.revealed, l.user_rng);
        if (!first) throw Error(instruction.task_id + ": no shard to start with");
        l.revealed.push_back(first->shard_id);
        l.said.push_back(first->text);
        l.log.turns.push_back({"user", first->text, {first->shard_id}, "", std::nullopt, std::nullopt});
      }
      live.push_back(std::move(l));
    }
  }
  converse(live, mode, assistant, options, [&](Live& l) {
    judge_reply(task, *l.instruction, l.log);
    if (l.log.correct || mode == Mode::full || mode == Mode::concat) {
      l.done = true;
      return;
    }
    const auto reveal = user.next(task, *l.instruction, l.revealed, l.user_rng);
    if (!reveal) {  // the reply to the last shard was the last turn
      l.done = true;
      return;
    }
    l.revealed.push_back(reveal->shard_id);
    if (mode == Mode::snowball) {
      l.log.turns.push_back({"user", snowball_message(l.said, reveal->text), l.revealed, "", std::nullopt, std::nullopt});
    } else {
      l.log.turns.push_back({"user", reveal->text, {reveal->shard_id}, "", std::nullopt, std::nullopt});
    }
    l.said.push_back(reveal->text);
  });
  std::vector<ConversationLog> logs;
  for (auto& l : live) logs.push_back(std::move(l.log));
  return logs;
}

std::vector<ConversationLog> recap(const Task& task, const std::vector<ShardedInstruction>& instructions,
                                   const std::vector<ConversationLog>& sharded, Assistant& assistant, const SimulationOptions& options) {
  std::map<std::string, const ShardedInstruction*> by_id;
  for (const auto& instruction : instructions) by_id[instruction.task_id] = &instruction;
  std::vector<Live> live;
  for (const auto& source : sharded) {
    if (source.mode != "sharded") throw Error("recap: " + source.conv_id + " is not a SHARDED conversation");
    const auto it = by_id.find(source.task_id);
    if (it == by_id.end()) throw Error("recap: " + source.conv_id + " is of instruction " + source.task_id + ", which is not given");
    Live l;
    l.instruction = it->second;
    l.log = source;
    l.log.mode = to_string(Mode::recap);
    l.log.conv_id = fmt::format("recap/{}/{}", source.task_id, source.run);
    l.log.source_conv_id = source.conv_id;
    l.log.assistant = assistant.name();
    l.log.temperature = options.temperature;
    l.log.turns.push_back({"user", recap_message(task.concat_prompt(*l.instruction)), all_shard_ids(*l.instruction), "",
                           std::nullopt, std::nullopt});
    // Only the recap reply is scored: the conversation's earlier attempts do not count.
    l.log.score = 0;
    l.log.correct = false;
    live.push_back(std::move(l));
  }
  converse(live, Mode::recap, assistant, options, [&](Live& l) {
    const int64_t first = l.log.first_attempt;
    l.log.first_attempt = 0;
    judge_reply(task, *l.instruction, l.log);
    if (first != 0) l.log.first_attempt = first;
    l.done = true;
  });
  std::vector<ConversationLog> logs;
  for (auto& l : live) logs.push_back(std::move(l.log));
  return logs;
}

void write_logs(const std::filesystem::path& path, const std::vector<ConversationLog>& logs) {
  std::string text;
  for (const auto& log : logs) text += log.to_json().dump() + "\n";
  write_file_atomic(path, text);
}

std::vector<ConversationLog> read_logs(const std::filesystem::path& path) {
  std::vector<ConversationLog> logs;
  for_each_jsonl_object(path, [&](const Json& object, int64_t line) {
    logs.push_back(ConversationLog::from_json(object, fmt::format("{}:{}", path.string(), line)));
  });
  return logs;
}

std::map<std::string, std::vector<double>> scores_by_instruction(const std::vector<ConversationLog>& logs) {
  std::map<std::string, std::vector<double>> scores;
  for (const auto& log : logs) scores[log.task_id].push_back(log.score);
  return scores;
}

}  // namespace garden::conversation
