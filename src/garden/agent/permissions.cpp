#include "garden/agent/permissions.h"

#include <fmt/core.h>
#include <fnmatch.h>

#include <algorithm>

#include "garden/core/error.h"

namespace garden::agent {

namespace fs = std::filesystem;

Mode parse_mode(const std::string& name) {
  if (name == "plan") return Mode::plan;
  if (name == "default") return Mode::default_mode;
  if (name == "accept_edits") return Mode::accept_edits;
  if (name == "dont_ask") return Mode::dont_ask;
  if (name == "bypass") return Mode::bypass;
  usage_error(fmt::format("permission mode '{}': expected plan, default, accept_edits, dont_ask or bypass", name));
}

std::string to_string(Mode mode) {
  switch (mode) {
    case Mode::plan: return "plan";
    case Mode::default_mode: return "default";
    case Mode::accept_edits: return "accept_edits";
    case Mode::dont_ask: return "dont_ask";
    case Mode::bypass: return "bypass";
  }
  return "?";
}

std::string to_string(Effect effect) {
  switch (effect) {
    case Effect::allow: return "allow";
    case Effect::ask: return "ask";
    case Effect::deny: return "deny";
  }
  return "?";
}

Rule Rule::parse(const std::string& text) {
  // "<effect> <tool>[(<argument glob>)]"
  const auto space = text.find(' ');
  if (space == std::string::npos) throw Error(fmt::format("permission rule '{}': expected '<allow|ask|deny> <tool>[(<argument glob>)]'", text));
  Rule rule;
  const std::string effect = text.substr(0, space);
  if (effect == "allow") rule.effect = Effect::allow;
  else if (effect == "ask") rule.effect = Effect::ask;
  else if (effect == "deny") rule.effect = Effect::deny;
  else throw Error(fmt::format("permission rule '{}': effect '{}' is not allow, ask or deny", text, effect));
  std::string rest = text.substr(space + 1);
  const auto open = rest.find('(');
  if (open == std::string::npos) {
    rule.tool = rest;
  } else {
    if (rest.back() != ')') throw Error(fmt::format("permission rule '{}': the argument glob lacks its ')'", text));
    rule.tool = rest.substr(0, open);
    rule.argument = rest.substr(open + 1, rest.size() - open - 2);
  }
  if (rule.tool.empty()) throw Error(fmt::format("permission rule '{}': no tool named", text));
  return rule;
}

PermissionEngine::PermissionEngine(Mode mode, std::vector<fs::path> roots, std::vector<Rule> rules, size_t max_argument_bytes)
    : mode_(mode), rules_(std::move(rules)), max_argument_bytes_(max_argument_bytes) {
  if (roots.empty()) throw Error("permissions: at least one allowed root is needed");
  for (const auto& root : roots) {
    std::error_code ec;
    const auto canonical = fs::canonical(root, ec);
    if (ec) throw Error(fmt::format("permissions: allowed root {} does not exist", root.string()));
    roots_.push_back(canonical);
  }
}

namespace {

bool inside(const fs::path& path, const fs::path& root) {
  const auto rel = path.lexically_relative(root);
  return !rel.empty() && *rel.begin() != ".." && !rel.is_absolute();
}

bool glob_matches(const std::string& glob, const std::string& text, bool fold_case) {
  return fnmatch(glob.c_str(), text.c_str(), fold_case ? FNM_CASEFOLD : 0) == 0;
}

}  // namespace

std::optional<fs::path> PermissionEngine::contained(const std::string& path) const {
  if (path.empty() || path.find('\0') != std::string::npos) return std::nullopt;
  fs::path p(path);
  if (p.is_relative()) p = roots_.front() / p;
  // weakly_canonical resolves every symlink of the part that exists, so a link inside the root
  // that points out of it is caught, and "..", "." and repeated separators are gone.
  std::error_code ec;
  const auto canonical = fs::weakly_canonical(p, ec);
  if (ec) return std::nullopt;
  for (const auto& root : roots_)
    if (canonical == root || inside(canonical, root)) return canonical;
  return std::nullopt;
}

std::vector<std::string> PermissionEngine::argument_strings(const Json& arguments, const ToolTraits& traits) const {
  std::vector<std::string> out;
  if (!arguments.is_object()) return out;
  for (const auto& [key, value] : arguments.items()) {
    std::string text = value.is_string() ? value.get<std::string>() : value.dump();
    if (std::find(traits.path_arguments.begin(), traits.path_arguments.end(), key) != traits.path_arguments.end()) {
      if (const auto canonical = contained(text)) {
        for (const auto& root : roots_)
          if (*canonical == root || inside(*canonical, root)) {
            text = canonical->lexically_relative(root).generic_string();
            break;
          }
      }
    }
    out.push_back(key + ":" + text);
  }
  return out;
}

Verdict PermissionEngine::check(const std::string& tool, const Json& arguments, const ToolTraits& traits) const {
  // 1. Hard invariants.
  if (!arguments.is_object()) return {Effect::deny, "invariant: arguments must be a JSON object"};
  if (arguments.dump().size() > max_argument_bytes_)
    return {Effect::deny, fmt::format("invariant: arguments over {} bytes", max_argument_bytes_)};
  for (const auto& key : traits.path_arguments) {
    const auto it = arguments.find(key);
    if (it == arguments.end()) continue;
    if (!it->is_string()) return {Effect::deny, fmt::format("invariant: path argument '{}' is not a string", key)};
    if (!contained(it->get<std::string>()))
      return {Effect::deny, fmt::format("invariant: path '{}' is outside the allowed roots", it->get<std::string>())};
  }
  // 2-3. Rules: deny, then ask, then allow.
  const auto args = argument_strings(arguments, traits);
  const auto matches = [&](const Rule& rule) {
    if (rule.tool != "*" && rule.tool != tool) return false;
    if (rule.argument.empty() || rule.argument == "*") return true;
    const bool fold = rule.effect == Effect::deny;
    return std::any_of(args.begin(), args.end(), [&](const std::string& a) { return glob_matches(rule.argument, a, fold); });
  };
  for (const Effect effect : {Effect::deny, Effect::ask, Effect::allow})
    for (const auto& rule : rules_)
      if (rule.effect == effect && matches(rule)) {
        Effect decided = effect;
        if (decided == Effect::ask && mode_ == Mode::dont_ask) decided = Effect::deny;
        if (decided == Effect::ask && mode_ == Mode::bypass) decided = Effect::allow;
        if (decided == Effect::allow && mode_ == Mode::plan && traits.writes) decided = Effect::deny;  // plan never writes
        const std::string text = fmt::format("rule: {} {}{}", to_string(rule.effect), rule.tool, rule.argument.empty() ? "" : "(" + rule.argument + ")");
        return {decided, decided == effect ? text : fmt::format("{} in mode {}", text, to_string(mode_))};
      }
  // 4. The mode's default.
  if (!traits.writes) return {Effect::allow, "mode " + to_string(mode_) + ": read-only tool"};
  switch (mode_) {
    case Mode::plan: return {Effect::deny, "mode plan: no writes"};
    case Mode::default_mode: return {Effect::ask, "mode default: writes ask"};
    case Mode::accept_edits: return {traits.note_write ? Effect::allow : Effect::ask, "mode accept_edits"};
    case Mode::dont_ask: return {Effect::deny, "mode dont_ask: a write that would ask is denied"};
    case Mode::bypass: return {Effect::allow, "mode bypass"};
  }
  return {Effect::deny, "unknown mode"};
}

Verdict PermissionEngine::decide(const std::string& tool, const Json& arguments, const ToolTraits& traits, const Approver& approver) {
  Verdict verdict = check(tool, arguments, traits);
  if (verdict.effect != Effect::ask) return verdict;
  const std::string key = tool + "\t" + arguments.dump();
  if (grants_.count(key) != 0) return {Effect::allow, "granted earlier in this session"};
  if (!approver) return {Effect::deny, verdict.reason + "; no approver"};
  switch (approver(tool, arguments, verdict.reason)) {
    case Answer::allow_once: return {Effect::allow, verdict.reason + "; approved"};
    case Answer::allow_session: grants_.insert(key); return {Effect::allow, verdict.reason + "; approved for the session"};
    case Answer::deny: return {Effect::deny, verdict.reason + "; refused"};
  }
  return {Effect::deny, "unknown answer"};
}

}  // namespace garden::agent
