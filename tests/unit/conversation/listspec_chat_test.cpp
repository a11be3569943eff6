// The chat model's training data: the mix's exact shares, the multi-turn policy (every answer
// meets the constraints revealed so far, kept while it still does), which tokens train, and
// that a dialogue's rows are the tokens the chat template's prompt gives at simulation time.
#include "garden/conversation/listspec_chat.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "garden/core/files.h"
#include "garden/serve/chat_template.h"
#include "garden/text/listspec.h"

namespace garden::conversation {
namespace {

namespace ls = text::listspec;

TEST(ListspecDialogues, TheMixHasItsExactShares) {
  const auto dialogues = listspec_dialogues(1000, chat_mix(0.10), 3);
  std::map<std::string, int> kinds;
  for (const auto& d : dialogues) ++kinds[d.kind];
  EXPECT_EQ(kinds["full"], 780);
  EXPECT_EQ(kinds["concat"], 100);
  EXPECT_EQ(kinds["recap"], 20);
  EXPECT_EQ(kinds["multi-turn"], 100);
  const auto none = chat_mix(0.0), most = chat_mix(0.30);
  EXPECT_DOUBLE_EQ(none.full, 0.88);
  EXPECT_DOUBLE_EQ(most.full + most.concat + most.recap + most.multi_turn, 1.0);
  EXPECT_THROW(chat_mix(0.9), Error);
}

TEST(ListspecDialogues, MultiTurnAnswersMeetWhatWasRevealedAndAreKeptWhileTheyDo) {
  int kept = 0, redrawn = 0;
  for (const auto& d : listspec_dialogues(400, chat_mix(0.5), 9)) {
    if (d.kind != "multi-turn" && d.kind != "recap") continue;
    ASSERT_EQ(d.messages.front().content, ls::kIntent);
    // Recover each revealed constraint from its paraphrase.
    std::vector<ls::Constraint> revealed;
    std::string previous;
    for (size_t i = 1; i < d.messages.size(); ++i) {
      const auto& m = d.messages[i];
      if (m.role == "user") {
        if (m.content.rfind("Just to recapitulate", 0) == 0) break;
        bool found = false;
        for (int k = 0; k < ls::kKinds && !found; ++k)
          for (int v = 0; v < 10 && !found; ++v)
            for (int p = 0; p < ls::kParaphrases && !found; ++p)
              if (ls::paraphrase({static_cast<ls::Kind>(k), v}, p) == m.content) {
                revealed.push_back({static_cast<ls::Kind>(k), v});
                found = true;
              }
        ASSERT_TRUE(found) << m.content;
        continue;
      }
      const auto lists = ls::extract_lists(m.content);
      ASSERT_EQ(lists.size(), 1u);
      if (d.kind == "recap") continue;  // a recap dialogue's earlier answers are any lists
      EXPECT_TRUE(ls::satisfies_all(lists[0], revealed)) << m.content;
      if (!previous.empty() && i > 1) {
        const auto before = ls::extract_lists(previous)[0];
        if (ls::satisfies_all(before, revealed)) {
          EXPECT_EQ(m.content, previous);
          ++kept;
        } else {
          ++redrawn;
        }
      }
      previous = m.content;
      EXPECT_EQ(d.trained[i], d.kind == "multi-turn");
    }
    if (d.kind == "recap") {
      EXPECT_TRUE(d.trained.back());
      EXPECT_EQ(d.messages[d.messages.size() - 2].content.rfind("Just to recapitulate, the entire task is:\n\n- i need a list of digits", 0), 0u);
    }
  }
  EXPECT_GT(kept, 0);
  EXPECT_GT(redrawn, 0);
}

TEST(ListspecDialogues, RowsAreTheChatTemplatesTokensWithAssistantTurnsCounted) {
  const auto dir = std::filesystem::temp_directory_path() / ("garden-chat-tok-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto dialogues = listspec_dialogues(300, chat_mix(0.3), 4);
  std::string lines;
  for (const auto& d : dialogues)
    for (const auto& m : d.messages) lines += m.content + "\n";
  write_file_atomic(dir / "text.txt", lines);
  text::train_tokenizer(chat_tokenizer_options(dir / "text.txt", 400), dir / "chat.model");
  const text::SentencePieceTokenizer tokenizer(dir / "chat.model");
  for (const auto& d : dialogues) {
    const auto row = dialogue_row(tokenizer, d);
    // Everything before the last assistant message is what the simulator sends as a prompt.
    std::vector<serve::ChatMessage> prompt;
    for (size_t i = 0; i + 1 < d.messages.size(); ++i) prompt.push_back({d.messages[i].role, d.messages[i].content, ""});
    const auto rendered = serve::render_chat(tokenizer, prompt);
    EXPECT_EQ(rendered.name, "role-pieces");
    auto ids = tokenizer.encode(rendered.text);
    ids.insert(ids.begin(), tokenizer.bos_id());
    ASSERT_LE(ids.size(), row.tokens.size());
    EXPECT_TRUE(std::equal(ids.begin(), ids.end(), row.tokens.begin())) << d.messages.front().content;
    // The counted tokens decode to the trained replies, each closed by <|end|>.
    std::string expected, counted;
    std::vector<int64_t> run;
    for (size_t i = 0; i < d.messages.size(); ++i)
      if (d.trained[i]) expected += d.messages[i].content + "<|end|>";
    for (size_t t = 0; t < row.tokens.size(); ++t)
      if (row.counted[t]) run.push_back(row.tokens[t]);
    counted = tokenizer.decode(run);
    EXPECT_EQ(counted, expected);
  }
  std::filesystem::remove_all(dir);
  EXPECT_THROW(dialogue_row(text::ByteTokenizer(), dialogues.front()), Error);  // no role pieces
}

}  // namespace
}  // namespace garden::conversation
