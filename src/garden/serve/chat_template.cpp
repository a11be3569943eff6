#include "garden/serve/chat_template.h"

namespace garden::serve {

ChatPrompt render_chat(const text::Tokenizer& tokenizer, const std::vector<ChatMessage>& messages) {
  const auto role = [](const ChatMessage& m) { return m.role == "developer" ? std::string("system") : m.role; };
  ChatPrompt prompt;
  const int64_t end = tokenizer.piece_to_id("<|end|>");
  const bool pieces = end >= 0 && tokenizer.piece_to_id("<|system|>") >= 0 && tokenizer.piece_to_id("<|user|>") >= 0 &&
                      tokenizer.piece_to_id("<|assistant|>") >= 0;
  if (pieces) {
    prompt.name = "role-pieces";
    for (const auto& m : messages) prompt.text += "<|" + role(m) + "|>\n" + m.content + "<|end|>\n";
    prompt.text += "<|assistant|>\n";
    prompt.stop_tokens.push_back(end);
    return prompt;
  }
  prompt.name = "plain";
  for (const auto& m : messages) {
    std::string r = role(m);
    r[0] = static_cast<char>(r[0] - 'a' + 'A');
    prompt.text += r + ": " + m.content + "\n";
  }
  prompt.text += "Assistant:";
  prompt.stop_strings = {"\nUser:", "\nSystem:"};
  return prompt;
}

}  // namespace garden::serve
