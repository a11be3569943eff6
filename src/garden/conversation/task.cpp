#include "garden/conversation/task.h"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>

#include "garden/core/files.h"
#include "garden/text/listspec.h"

namespace garden::conversation {

namespace {

ShardedInstruction parse_instruction(const Json& object, const std::string& where) {
  ShardedInstruction instruction;
  if (!object.contains("task_id")) throw Error(where + ": no task_id");
  const auto& id = object["task_id"];
  instruction.task_id = id.is_string() ? id.get<std::string>() : id.is_number_integer() ? std::to_string(id.get<int64_t>()) : "";
  if (instruction.task_id.empty()) throw Error(where + ": task_id must be a non-empty string or an integer");
  read_field(object, "task", instruction.task, where);
  if (!object.contains("shards") || !object["shards"].is_array() || object["shards"].empty())
    throw Error(where + ": 'shards' must be a non-empty list of {shard_id, shard}");
  for (const auto& s : object["shards"]) {
    if (!s.is_object() || !s.contains("shard") || !s["shard"].is_string())
      throw Error(where + ": every shard needs a text field 'shard'");
    Shard shard;
    shard.id = static_cast<int64_t>(instruction.shards.size()) + 1;
    read_field(s, "shard_id", shard.id, where);
    shard.text = s["shard"].get<std::string>();
    instruction.shards.push_back(std::move(shard));
  }
  for (size_t i = 0; i < instruction.shards.size(); ++i)
    for (size_t j = i + 1; j < instruction.shards.size(); ++j)
      if (instruction.shards[i].id == instruction.shards[j].id)
        throw Error(fmt::format("{}: shard_id {} appears twice", where, instruction.shards[i].id));
  instruction.fields = object;
  return instruction;
}

bool contains_word(const std::string& lower, const std::string& word) { return lower.find(word) != std::string::npos; }

}  // namespace

Json ShardedInstruction::to_json() const {
  Json object = fields.is_object() ? fields : Json::object();
  object["task_id"] = task_id;
  object["task"] = task;
  object["shards"] = Json::array();
  for (const auto& s : shards) object["shards"].push_back({{"shard_id", s.id}, {"shard", s.text}});
  return object;
}

std::vector<ShardedInstruction> read_sharded_instructions(const std::filesystem::path& path) {
  std::vector<ShardedInstruction> instructions;
  const std::string text = read_file(path);
  const auto start = text.find_first_not_of(" \t\r\n");
  if (start != std::string::npos && text[start] == '[') {
    Json array;
    try {
      array = Json::parse(text);
    } catch (const Json::exception& e) {
      throw Error(path.string() + ": not valid JSON (" + e.what() + ")");
    }
    for (size_t i = 0; i < array.size(); ++i) {
      const std::string where = fmt::format("{}: item {}", path.string(), i + 1);
      if (!array[i].is_object()) throw Error(where + ": not an object");
      instructions.push_back(parse_instruction(array[i], where));
    }
  } else {
    for_each_jsonl_object(path, [&](const Json& object, int64_t line) {
      instructions.push_back(parse_instruction(object, fmt::format("{}:{}", path.string(), line)));
    });
  }
  if (instructions.empty()) throw Error(path.string() + ": no sharded instructions");
  for (size_t i = 0; i < instructions.size(); ++i)
    for (size_t j = i + 1; j < instructions.size(); ++j)
      if (instructions[i].task_id == instructions[j].task_id)
        throw Error(path.string() + ": task_id '" + instructions[i].task_id + "' appears twice");
  return instructions;
}

void write_sharded_instructions(const std::filesystem::path& path, const std::vector<ShardedInstruction>& instructions) {
  std::string text;
  for (const auto& instruction : instructions) text += instruction.to_json().dump() + "\n";
  write_file_atomic(path, text);
}

std::string Task::concat_prompt(const ShardedInstruction& instruction) const {
  std::string text;
  for (size_t i = 0; i < instruction.shards.size(); ++i) text += (i ? "\n- " : "- ") + instruction.shards[i].text;
  return text;
}

std::vector<std::string> Task::paraphrases(const ShardedInstruction&, const Shard& shard) const { return {shard.text}; }

void Task::validate(const ShardedInstruction&, const std::string&) const {}

std::string classify_turn(const Task& task, const std::string& reply) {
  if (reply.find_first_not_of(" \t\r\n") == std::string::npos) return "missing";
  const auto candidates = task.answer_candidates(reply).size();
  if (candidates == 1) return "answer_attempt";
  if (candidates > 1) return "hedge";
  std::string lower = reply;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (contains_word(lower, "cannot") || contains_word(lower, "can't") || contains_word(lower, "unable") || contains_word(lower, "sorry"))
    return "refuse";
  const auto questions = std::count(reply.begin(), reply.end(), '?');
  if (questions >= 2) return "interrogation";
  if (questions == 1) return "clarification";
  return "discussion";
}

// ---- listspec -----------------------------------------------------------------------------

namespace {

namespace ls = text::listspec;

// The constraints of a listspec instruction: field "constraints", one per shard after the
// intent, in shard order.
std::vector<ls::Constraint> constraints_of(const ShardedInstruction& instruction, const std::string& where) {
  const auto& fields = instruction.fields;
  if (!fields.contains("constraints") || !fields["constraints"].is_array())
    throw Error(where + ": a listspec instruction needs 'constraints': [{\"kind\", \"value\"}, ...]");
  std::vector<ls::Constraint> constraints;
  for (const auto& c : fields["constraints"]) {
    if (!c.is_object() || !c.contains("kind") || !c["kind"].is_string()) throw Error(where + ": every constraint needs a 'kind'");
    ls::Constraint constraint{ls::parse_kind(c["kind"].get<std::string>()), 0};
    read_field(c, "value", constraint.value, where);
    constraints.push_back(constraint);
  }
  return constraints;
}

class ListspecTask final : public Task {
 public:
  std::string name() const override { return "listspec"; }
  std::string full_prompt(const ShardedInstruction& instruction) const override {
    return ls::full_prompt(constraints_of(instruction, instruction.task_id));
  }
  std::vector<std::string> paraphrases(const ShardedInstruction& instruction, const Shard& shard) const override {
    const auto constraints = constraints_of(instruction, instruction.task_id);
    for (size_t i = 1; i < instruction.shards.size(); ++i)
      if (instruction.shards[i].id == shard.id && i - 1 < constraints.size()) {
        std::vector<std::string> forms;
        for (int v = 0; v < ls::kParaphrases; ++v) forms.push_back(ls::paraphrase(constraints[i - 1], v));
        return forms;
      }
    return {shard.text};
  }
  std::vector<std::string> answer_candidates(const std::string& reply) const override {
    std::vector<std::string> answers;
    for (const auto& list : ls::extract_lists(reply)) answers.push_back(ls::format_list(list));
    return answers;
  }
  double evaluate(const std::string& answer, const ShardedInstruction& instruction) const override {
    const auto lists = ls::extract_lists(answer);
    if (lists.size() != 1) return 0;
    return ls::satisfies_all(lists.front(), constraints_of(instruction, instruction.task_id)) ? 100 : 0;
  }
  void validate(const ShardedInstruction& instruction, const std::string& where) const override {
    const auto constraints = constraints_of(instruction, where);
    if (constraints.size() + 1 != instruction.shards.size())
      throw Error(fmt::format("{}: {} shards for {} constraints (a listspec instruction has the intent and one shard per constraint)",
                              where, instruction.shards.size(), constraints.size()));
  }
};

}  // namespace

std::unique_ptr<Task> make_task(const std::string& name) {
  if (name == "listspec") return std::make_unique<ListspecTask>();
  throw Error("unknown task '" + name + "' (known: listspec)");
}

std::vector<ShardedInstruction> listspec_instructions(int64_t count, uint64_t seed, const std::string& prefix) {
  ls::Rng rng(seed);
  std::vector<ShardedInstruction> instructions;
  for (int64_t i = 0; i < count; ++i) {
    const auto constraints = ls::random_constraints(rng);
    ShardedInstruction instruction;
    instruction.task_id = fmt::format("{}-{}", prefix, i);
    instruction.task = "listspec";
    instruction.shards.push_back({1, ls::kIntent});
    Json fields = Json::array();
    for (const auto& c : constraints) {
      instruction.shards.push_back({static_cast<int64_t>(instruction.shards.size()) + 1, ls::shard_text(c)});
      fields.push_back({{"kind", ls::to_string(c.kind)}, {"value", c.value}});
    }
    instruction.fields = {{"constraints", fields}, {"full_prompt", ls::full_prompt(constraints)}};
    instruction.fields = instruction.to_json();
    instructions.push_back(std::move(instruction));
  }
  return instructions;
}

}  // namespace garden::conversation
