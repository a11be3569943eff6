// The chat template follows the tokenizer's specials: role pieces when the vocabulary has
// them, plain "Role: text" lines otherwise.
#include "garden/serve/chat_template.h"

#include <gtest/gtest.h>

namespace garden::serve {
namespace {

// The byte tokenizer with the four role pieces added at ids 300..303.
class RolePieceTokenizer : public text::Tokenizer {
 public:
  std::vector<int64_t> encode(const std::string& text) const override { return bytes_.encode(text); }
  std::string decode(const std::vector<int64_t>& ids) const override { return bytes_.decode(ids); }
  int64_t vocab_size() const override { return 304; }
  int64_t bos_id() const override { return bytes_.bos_id(); }
  int64_t eos_id() const override { return bytes_.eos_id(); }
  int64_t pad_id() const override { return bytes_.pad_id(); }
  int64_t piece_to_id(const std::string& piece) const override {
    const std::vector<std::string> roles = {"<|system|>", "<|user|>", "<|assistant|>", "<|end|>"};
    for (size_t i = 0; i < roles.size(); ++i)
      if (piece == roles[i]) return 300 + static_cast<int64_t>(i);
    return bytes_.piece_to_id(piece);
  }
  std::string spec() const override { return "test"; }

 private:
  text::ByteTokenizer bytes_;
};

const std::vector<ChatMessage> conversation = {{"developer", "be brief", ""}, {"user", "hi", ""}, {"assistant", "hello", ""}, {"user", "bye", ""}};

TEST(ChatTemplate, RolePiecesWhenTheVocabularyHasThem) {
  const auto p = render_chat(RolePieceTokenizer{}, conversation);
  EXPECT_EQ(p.name, "role-pieces");
  EXPECT_EQ(p.text,
            "<|system|>\nbe brief<|end|>\n<|user|>\nhi<|end|>\n<|assistant|>\nhello<|end|>\n<|user|>\nbye<|end|>\n<|assistant|>\n");
  EXPECT_EQ(p.stop_tokens, std::vector<int64_t>{303});
  EXPECT_TRUE(p.stop_strings.empty());
}

TEST(ChatTemplate, PlainTextOtherwise) {
  const auto p = render_chat(text::ByteTokenizer{}, conversation);
  EXPECT_EQ(p.name, "plain");
  EXPECT_EQ(p.text, "System: be brief\nUser: hi\nAssistant: hello\nUser: bye\nAssistant:");
  EXPECT_TRUE(p.stop_tokens.empty());
  EXPECT_EQ(p.stop_strings, (std::vector<std::string>{"\nUser:", "\nSystem:"}));
}

TEST(ChatTemplate, ToolResultsAreUserTurnsNamingTheirCall) {
  const std::vector<ChatMessage> messages = {{"user", "find", ""}, {"assistant", "<tool_call>{}</tool_call>", ""}, {"tool", "found", "c1"}};
  EXPECT_EQ(render_chat(RolePieceTokenizer{}, messages).text,
            "<|user|>\nfind<|end|>\n<|assistant|>\n<tool_call>{}</tool_call><|end|>\n<|user|>\nResult of tool call c1:\nfound<|end|>\n<|assistant|>\n");
  EXPECT_EQ(render_chat(text::ByteTokenizer{}, messages).text,
            "User: find\nAssistant: <tool_call>{}</tool_call>\nUser: Result of tool call c1:\nfound\nAssistant:");
}

}  // namespace
}  // namespace garden::serve
