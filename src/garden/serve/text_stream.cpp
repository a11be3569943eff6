#include "garden/serve/text_stream.h"

#include <algorithm>

namespace garden::serve {

size_t complete_utf8_length(const std::string& text) {
  size_t n = text.size();
  static const std::string replacement = "\xEF\xBF\xBD";
  while (n >= 3 && text.compare(n - 3, 3, replacement) == 0) n -= 3;
  // Walk back over continuation bytes to the last lead byte and check its sequence is whole.
  size_t i = n, continuation = 0;
  while (i > 0 && continuation < 4 && (static_cast<unsigned char>(text[i - 1]) & 0xC0) == 0x80) --i, ++continuation;
  if (i == 0) return n;
  const auto lead = static_cast<unsigned char>(text[i - 1]);
  const size_t need = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
  return continuation < need ? i - 1 : n;
}

TextStream::TextStream(const text::Tokenizer& tokenizer, std::vector<std::string> stop_strings, std::vector<int64_t> stop_tokens)
    : tokenizer_(tokenizer), stop_strings_(std::move(stop_strings)), stop_tokens_(std::move(stop_tokens)) {}

bool TextStream::add(int64_t token) {
  if (stopped_) return true;
  if (std::find(stop_tokens_.begin(), stop_tokens_.end(), token) != stop_tokens_.end()) {
    stopped_ = true;
    ready_ = text_.size();
    return true;
  }
  tokens_.push_back(token);
  std::string full = tokenizer_.decode(tokens_);
  // The earliest stop string ends the text; a search from a little before the new part finds
  // one that straddles tokens.
  size_t cut = std::string::npos;
  for (const auto& stop : stop_strings_) {
    const size_t from = ready_ > stop.size() ? ready_ - stop.size() : 0;
    const size_t at = full.find(stop, from);
    if (at != std::string::npos) cut = std::min(cut, at);
  }
  if (cut != std::string::npos) {
    text_ = full.substr(0, std::max(cut, taken_));
    stopped_ = true;
    ready_ = text_.size();
    return true;
  }
  text_ = std::move(full);
  // Hold back a tail that could still grow into a stop string.
  size_t safe = complete_utf8_length(text_);
  for (const auto& stop : stop_strings_)
    for (size_t len = std::min(stop.size() - 1, text_.size()); len > 0; --len)
      if (text_.compare(text_.size() - len, len, stop, 0, len) == 0) {
        safe = std::min(safe, text_.size() - len);
        break;
      }
  ready_ = std::max(ready_, std::min(safe, text_.size()));
  return false;
}

std::string TextStream::take() {
  if (ready_ <= taken_) return "";
  std::string piece = text_.substr(taken_, ready_ - taken_);
  taken_ = ready_;
  return piece;
}

std::string TextStream::finish() {
  stopped_ = true;
  ready_ = text_.size();
  return take();
}

}  // namespace garden::serve
