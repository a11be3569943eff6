// The permission engine (agent/permissions.h): a table of calls decided in every mode, the path
// invariants ("..", absolute paths, symlinks out of the root, "./" and case variants), deny-first
// rules, session grants, and a property test: adding a deny rule never turns a deny into an
// allow.
#include "garden/agent/permissions.h"

#include <gtest/gtest.h>

#include <random>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "test_files.h"

namespace garden::agent {
namespace {

namespace fs = std::filesystem;

const ToolTraits kRead{false, false, {"path"}};
const ToolTraits kNote{true, true, {}};
const ToolTraits kWrite{true, false, {"path"}};

struct Workspace {
  testing::TempDir dir;
  fs::path root = dir.path() / "work";
  Workspace() {
    fs::create_directories(root / "notes");
    fs::create_directories(dir.path() / "outside");
    write_file_atomic(root / "a.txt", "a");
    write_file_atomic(root / "secret.txt", "s");
    write_file_atomic(dir.path() / "outside" / "b.txt", "b");
    fs::create_directory_symlink(dir.path() / "outside", root / "escape");
    fs::create_symlink(root / "a.txt", root / "inner-link");
  }
  PermissionEngine engine(Mode mode, std::vector<Rule> rules = {}) const { return PermissionEngine(mode, {root}, std::move(rules)); }
};

TEST(Permissions, EveryModeDecidesReadsNotesAndWritesAsSpecified) {
  Workspace w;
  const Json read = {{"path", "a.txt"}}, note = {{"name", "todo"}, {"content", "x"}}, write = {{"path", "a.txt"}};
  struct Row {
    Mode mode;
    Effect read, note, write;
  };
  const std::vector<Row> table = {
      {Mode::plan, Effect::allow, Effect::deny, Effect::deny},
      {Mode::default_mode, Effect::allow, Effect::ask, Effect::ask},
      {Mode::accept_edits, Effect::allow, Effect::allow, Effect::ask},
      {Mode::dont_ask, Effect::allow, Effect::deny, Effect::deny},
      {Mode::bypass, Effect::allow, Effect::allow, Effect::allow},
  };
  for (const auto& row : table) {
    const auto engine = w.engine(row.mode);
    EXPECT_EQ(engine.check("read_file", read, kRead).effect, row.read) << to_string(row.mode);
    EXPECT_EQ(engine.check("write_note", note, kNote).effect, row.note) << to_string(row.mode);
    EXPECT_EQ(engine.check("write_file", write, kWrite).effect, row.write) << to_string(row.mode);
  }
}

TEST(Permissions, PathsOutsideTheRootAreDeniedInEveryModeIncludingBypass) {
  Workspace w;
  const std::vector<std::string> outside = {"../outside/b.txt", (w.dir.path() / "outside" / "b.txt").string(), "escape/b.txt",
                                            "notes/../../outside/b.txt", "/etc/passwd", "./escape/../escape/b.txt", ""};
  for (const Mode mode : {Mode::plan, Mode::default_mode, Mode::accept_edits, Mode::dont_ask, Mode::bypass}) {
    auto engine = w.engine(mode, {Rule::parse("allow read_file"), Rule::parse("allow write_file")});
    for (const auto& path : outside) {
      const auto verdict = engine.check("read_file", Json{{"path", path}}, kRead);
      EXPECT_EQ(verdict.effect, Effect::deny) << to_string(mode) << " " << path;
      EXPECT_NE(verdict.reason.find("invariant"), std::string::npos) << verdict.reason;
      // An approver cannot let it through either.
      EXPECT_EQ(engine.decide("write_file", Json{{"path", path}}, kWrite, [](auto&&...) { return PermissionEngine::Answer::allow_session; }).effect,
                Effect::deny);
    }
    // Inside: dot segments and a link that stays inside are fine.
    EXPECT_EQ(engine.check("read_file", Json{{"path", "./notes/../a.txt"}}, kRead).effect, Effect::allow);
    EXPECT_EQ(engine.check("read_file", Json{{"path", "inner-link"}}, kRead).effect, Effect::allow);
  }
  // A path argument that is not a string, and arguments over the size limit.
  const auto engine = w.engine(Mode::bypass);
  EXPECT_EQ(engine.check("read_file", Json{{"path", 3}}, kRead).effect, Effect::deny);
  const PermissionEngine small(Mode::bypass, {w.root}, {}, 64);
  EXPECT_EQ(small.check("write_note", Json{{"name", "n"}, {"content", std::string(100, 'x')}}, kNote).effect, Effect::deny);
}

TEST(Permissions, ABroadDenyBeatsANarrowAllowAndDenyIgnoresCaseAndDotSegments) {
  Workspace w;
  auto engine = w.engine(Mode::bypass, {Rule::parse("allow write_note(name:todo)"), Rule::parse("deny write_note(*)")});
  EXPECT_EQ(engine.check("write_note", Json{{"name", "todo"}, {"content", "x"}}, kNote).effect, Effect::deny);
  auto secret = w.engine(Mode::bypass, {Rule::parse("deny read_file(path:secret.txt)")});
  for (const std::string path : {"secret.txt", "./secret.txt", "notes/../secret.txt", "SECRET.txt", "Secret.TXT"}) {
    // On a case-sensitive file system "SECRET.txt" is another (missing) file, but a deny by
    // name must not be dodged by spelling.
    EXPECT_EQ(secret.check("read_file", Json{{"path", path}}, kRead).effect, Effect::deny) << path;
  }
  EXPECT_EQ(secret.check("read_file", Json{{"path", "a.txt"}}, kRead).effect, Effect::allow);
  // Ask rules: dont_ask denies them, bypass allows them.
  EXPECT_EQ(w.engine(Mode::dont_ask, {Rule::parse("ask read_file")}).check("read_file", Json{{"path", "a.txt"}}, kRead).effect, Effect::deny);
  EXPECT_EQ(w.engine(Mode::bypass, {Rule::parse("ask read_file")}).check("read_file", Json{{"path", "a.txt"}}, kRead).effect, Effect::allow);
  // An allow rule never lets plan write.
  EXPECT_EQ(w.engine(Mode::plan, {Rule::parse("allow write_note")}).check("write_note", Json{{"name", "n"}}, kNote).effect, Effect::deny);
}

TEST(Permissions, SessionGrantsAnswerLaterAsksAndNoApproverDenies) {
  Workspace w;
  auto engine = w.engine(Mode::default_mode);
  const Json note = {{"name", "todo"}, {"content", "x"}};
  int asked = 0;
  const auto approver = [&](auto&&...) {
    ++asked;
    return PermissionEngine::Answer::allow_session;
  };
  EXPECT_EQ(engine.decide("write_note", note, kNote, approver).effect, Effect::allow);
  EXPECT_EQ(engine.decide("write_note", note, kNote, approver).effect, Effect::allow);
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(engine.session_grants().size(), 1u);
  // A fresh engine (a resumed session) holds no grants and, with no approver, denies.
  auto resumed = w.engine(Mode::default_mode);
  EXPECT_EQ(resumed.decide("write_note", note, kNote, {}).effect, Effect::deny);
  EXPECT_EQ(engine.decide("write_note", note, kNote, [](auto&&...) { return PermissionEngine::Answer::deny; }).effect, Effect::allow);
  EXPECT_EQ(engine.decide("write_note", Json{{"name", "other"}}, kNote, [](auto&&...) { return PermissionEngine::Answer::deny; }).effect,
            Effect::deny);
}

TEST(Permissions, AddingADenyRuleNeverTurnsADenyIntoAnAllow) {
  Workspace w;
  std::mt19937 rng(7);
  const std::vector<std::string> tools = {"read_file", "write_note", "grep", "*"};
  const std::vector<std::string> globs = {"", "*", "path:a*", "path:secret.txt", "name:todo", "name:*o*", "pattern:x"};
  const std::vector<std::pair<std::string, Json>> calls = {{"read_file", Json{{"path", "a.txt"}}},     {"read_file", Json{{"path", "secret.txt"}}},
                                                           {"write_note", Json{{"name", "todo"}}},     {"write_note", Json{{"name", "log"}}},
                                                           {"grep", Json{{"pattern", "x"}, {"path", "."}}}};
  const auto traits = [](const std::string& tool) { return tool == "write_note" ? kNote : kRead; };
  const auto random_rule = [&](Effect effect) {
    Rule r;
    r.effect = effect;
    r.tool = tools[rng() % tools.size()];
    r.argument = globs[rng() % globs.size()];
    return r;
  };
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<Rule> rules;
    const int n = static_cast<int>(rng() % 5);
    for (int i = 0; i < n; ++i) rules.push_back(random_rule(static_cast<Effect>(rng() % 3)));
    const Mode mode = static_cast<Mode>(rng() % 5);
    auto with_deny = rules;
    with_deny.push_back(random_rule(Effect::deny));
    const auto before = w.engine(mode, rules), after = w.engine(mode, with_deny);
    for (const auto& [tool, args] : calls) {
      const auto a = before.check(tool, args, traits(tool)).effect, b = after.check(tool, args, traits(tool)).effect;
      if (a == Effect::deny) {
        EXPECT_EQ(b, Effect::deny) << "trial " << trial << " " << tool << " " << args.dump();
      }
      if (b == Effect::allow) {
        EXPECT_EQ(a, Effect::allow) << "trial " << trial;
      }
    }
  }
}

TEST(Permissions, RulesAndModesParseOrFailWithTheirText) {
  const auto r = Rule::parse("deny write_note(name:todo*)");
  EXPECT_EQ(r.effect, Effect::deny);
  EXPECT_EQ(r.tool, "write_note");
  EXPECT_EQ(r.argument, "name:todo*");
  EXPECT_EQ(Rule::parse("allow read_file").argument, "");
  testing::expect_error_containing([] { Rule::parse("permit read_file"); }, "effect 'permit' is not allow, ask or deny");
  testing::expect_error_containing([] { Rule::parse("deny write_note(name:x"); }, "lacks its ')'");
  EXPECT_EQ(parse_mode("accept_edits"), Mode::accept_edits);
  EXPECT_THROW(parse_mode("yolo"), Error);
}

}  // namespace
}  // namespace garden::agent
