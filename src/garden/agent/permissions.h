// The agent's permission engine (agent-design.md, "Permissions and safety"): deny-first rules,
// graduated modes and hard path invariants. A tool call is decided in a fixed order:
//   1. hard invariants: every path argument, made canonical (".", "..", symlinks resolved),
//      lies inside an allowed root; no argument is over the size limit. A failure denies in
//      every mode, bypass included;
//   2. deny rules (any match denies, however specific an allow is);
//   3. ask rules, then allow rules;
//   4. the mode's default: plan allows read-only tools and denies writes; default asks for
//      writes; accept_edits allows writes of notes; dont_ask turns every ask into a deny;
//      bypass allows what the invariants and deny rules let through.
// An ask goes to the approver callback; an approval can be granted for the session (not
// stored in the transcript, so a resumed session asks again).
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "garden/core/json.h"

namespace garden::agent {

enum class Mode { plan, default_mode, accept_edits, dont_ask, bypass };
Mode parse_mode(const std::string& name);  // plan | default | accept_edits | dont_ask | bypass
std::string to_string(Mode mode);

enum class Effect { allow, ask, deny };
std::string to_string(Effect effect);

// A rule matches a call of `tool` ("*" for any) when `argument` is empty or "*", or when the
// glob (fnmatch, e.g. "name:todo*", "path:notes/*") matches one of the call's arguments written
// as "key:value" (paths made relative to their root first). Deny rules match paths without
// regard to case, so a deny on "secret.txt" also holds for "Secret.TXT".
struct Rule {
  Effect effect = Effect::deny;
  std::string tool = "*", argument;
  static Rule parse(const std::string& text);  // "deny write_note(name:todo)", "allow read_file"
};

// What the engine needs to know of a tool.
struct ToolTraits {
  bool writes = false;                     // changes the workspace
  bool note_write = false;                 // a write confined to the notes directory
  std::vector<std::string> path_arguments;  // arguments that name files or folders
};

struct Verdict {
  Effect effect = Effect::deny;
  std::string reason;  // which step decided: "invariant: ...", "rule: deny write_note(*)", "mode plan"
};

class PermissionEngine {
 public:
  PermissionEngine(Mode mode, std::vector<std::filesystem::path> roots, std::vector<Rule> rules, size_t max_argument_bytes = 1 << 20);

  // Steps 1-4 above, before any approver or grant.
  Verdict check(const std::string& tool, const Json& arguments, const ToolTraits& traits) const;

  // The final decision: an ask goes to session grants, then to `approver` (none = deny). The
  // approver returns allow, deny, or allow-for-the-session.
  enum class Answer { allow_once, allow_session, deny };
  using Approver = std::function<Answer(const std::string& tool, const Json& arguments, const std::string& reason)>;
  Verdict decide(const std::string& tool, const Json& arguments, const ToolTraits& traits, const Approver& approver);

  // The canonical form of `path` when it lies inside a root (relative paths are taken from the
  // first root), or nothing.
  std::optional<std::filesystem::path> contained(const std::string& path) const;

  Mode mode() const { return mode_; }
  const std::set<std::string>& session_grants() const { return grants_; }

 private:
  std::vector<std::string> argument_strings(const Json& arguments, const ToolTraits& traits) const;
  Mode mode_;
  std::vector<std::filesystem::path> roots_;
  std::vector<Rule> rules_;
  size_t max_argument_bytes_;
  std::set<std::string> grants_;  // "tool\targuments" approved for the session
};

}  // namespace garden::agent
