// The text of one generated sample as its tokens arrive: decoded incrementally, cut before
// the first stop string (OpenAI's `stop`: the text ends before it), and held back while its
// tail might still become a stop string or is an incomplete UTF-8 character, so that the
// pieces a stream sends concatenate to exactly the text a non-streamed answer holds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "garden/text/tokenizer.h"

namespace garden::serve {

class TextStream {
 public:
  // stop_tokens end the text without being part of it (EOS, a chat template's end piece).
  TextStream(const text::Tokenizer& tokenizer, std::vector<std::string> stop_strings, std::vector<int64_t> stop_tokens);
  // Adds the next generated token; true when the text has ended (a stop token or string).
  // Tokens after the end are ignored.
  bool add(int64_t token);
  // The text that is final and not yet taken.
  std::string take();
  // Ends the text (generation is over): everything not yet taken, held-back tail included.
  std::string finish();
  bool stopped() const { return stopped_; }
  // The text so far (final once stopped or finished).
  const std::string& text() const { return text_; }

 private:
  const text::Tokenizer& tokenizer_;
  std::vector<std::string> stop_strings_;
  std::vector<int64_t> stop_tokens_;
  std::vector<int64_t> tokens_;
  std::string text_;     // decoded text, cut at a stop string
  size_t ready_ = 0;     // text_[0, ready_) can no longer change
  size_t taken_ = 0;     // text_[0, taken_) was returned by take()
  bool stopped_ = false;
};

// The length of the longest prefix of `text` that does not end inside a UTF-8 character
// (nor with U+FFFD, which a decoder emits for a character it has only part of yet).
size_t complete_utf8_length(const std::string& text);

}  // namespace garden::serve
