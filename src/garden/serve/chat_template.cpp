#include "garden/serve/chat_template.h"

namespace garden::serve {

ChatPrompt render_chat(const text::Tokenizer& tokenizer, const std::vector<ChatMessage>& messages) {
  // The templates know system, user and assistant: a developer message is a system one, a tool
  // result a user one that says which call it answers.
  const auto role = [](const ChatMessage& m) {
    if (m.role == "developer") return std::string("system");
    if (m.role == "tool") return std::string("user");
    return m.role;
  };
  const auto content = [](const ChatMessage& m) {
    return m.role == "tool" ? "Result of tool call " + m.tool_call_id + ":\n" + m.content : m.content;
  };
  ChatPrompt prompt;
  const int64_t end = tokenizer.piece_to_id("<|end|>");
  const bool pieces = end >= 0 && tokenizer.piece_to_id("<|system|>") >= 0 && tokenizer.piece_to_id("<|user|>") >= 0 &&
                      tokenizer.piece_to_id("<|assistant|>") >= 0;
  if (pieces) {
    prompt.name = "role-pieces";
    for (const auto& m : messages) prompt.text += "<|" + role(m) + "|>\n" + content(m) + "<|end|>\n";
    prompt.text += "<|assistant|>\n";
    prompt.stop_tokens.push_back(end);
    return prompt;
  }
  prompt.name = "plain";
  for (const auto& m : messages) {
    std::string r = role(m);
    r[0] = static_cast<char>(r[0] - 'a' + 'A');
    prompt.text += r + ": " + content(m) + "\n";
  }
  prompt.text += "Assistant:";
  prompt.stop_strings = {"\nUser:", "\nSystem:"};
  return prompt;
}

}  // namespace garden::serve
