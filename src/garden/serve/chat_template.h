// How chat messages become one prompt for a garden LM. The template is chosen by the model's
// tokenizer, from its special pieces:
//   role pieces: when the vocabulary has <|system|>, <|user|>, <|assistant|> and <|end|>
//     (`garden tokenizer train --special '<|system|>' '<|user|>' '<|assistant|>' '<|end|>'`),
//     each message is "<|role|>\n{content}<|end|>\n" and the prompt ends with
//     "<|assistant|>\n"; the reply ends at <|end|> (a stop token) or EOS;
//   plain text: otherwise (the byte tokenizer, or one without those pieces), each message is
//     "{Role}: {content}\n" (System, User, Assistant) and the prompt ends with "Assistant:";
//     the reply ends at EOS or at the start of a next turn ("\nUser:", "\nSystem:").
// A "developer" message is a system message. The prompt is then tokenised after BOS, as
// every garden prompt is. docs/serve.md documents the same.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "garden/serve/api.h"
#include "garden/text/tokenizer.h"

namespace garden::serve {

struct ChatPrompt {
  std::string name;                       // "role-pieces" or "plain"
  std::string text;                       // the prompt, before tokenisation
  std::vector<int64_t> stop_tokens;       // besides EOS
  std::vector<std::string> stop_strings;  // besides the request's own
};

ChatPrompt render_chat(const text::Tokenizer& tokenizer, const std::vector<ChatMessage>& messages);

}  // namespace garden::serve
