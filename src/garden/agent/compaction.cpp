#include "garden/agent/compaction.h"

#include <fmt/core.h>

#include <algorithm>

namespace garden::agent {

int64_t approximate_tokens(const std::string& text) {
  return text.empty() ? 0 : std::max<int64_t>(1, static_cast<int64_t>(text.size()) / 4);
}

namespace {

constexpr int64_t kMessageOverhead = 4;  // role and separators, as chat templates spend them

int64_t message_tokens(const Message& m, const TokenCounter& count) {
  int64_t n = kMessageOverhead + count(m.content);
  for (const auto& c : m.tool_calls) n += count(c.name) + count(c.arguments.dump());
  return n;
}

std::string first_line(const std::string& text, size_t max_chars) {
  std::string line = text.substr(0, text.find('\n'));
  if (line.size() > max_chars) line = line.substr(0, max_chars) + "...";
  return line;
}

}  // namespace

int64_t history_tokens(const std::vector<Message>& history, const TokenCounter& count) {
  int64_t n = 0;
  for (const auto& m : history) n += message_tokens(m, count);
  return n;
}

std::string extractive_summary(const std::vector<Message>& span, size_t max_bytes) {
  std::string out;
  for (const auto& m : span) {
    if (m.role == "assistant") {
      if (!m.content.empty()) out += "- said: " + first_line(m.content, 160) + "\n";
      for (const auto& c : m.tool_calls) out += "- called " + c.name + " " + first_line(c.arguments.dump(), 120) + "\n";
    } else if (m.role == "tool") {
      out += "  -> " + first_line(m.content, 160) + "\n";
    } else if (!m.content.empty()) {
      out += "- " + m.role + ": " + first_line(m.content, 160) + "\n";
    }
  }
  if (out.size() > max_bytes) {
    const size_t cut = out.find('\n', out.size() - max_bytes);
    out = "(earlier lines dropped)\n" + (cut == std::string::npos ? std::string() : out.substr(cut + 1));
  }
  return out;
}

Json CompactionReport::to_json() const {
  return {{"before", before}, {"after", after}, {"offloaded", offloaded}, {"snipped", snipped}, {"summarised_messages", summarised_messages},
          {"summariser_called", summariser_called}};
}

CompactionReport compact(std::vector<Message>& history, const CompactionOptions& options, RefStore& refs, const Summariser& summarise,
                         const TokenCounter& count) {
  CompactionReport report;
  report.before = report.after = history_tokens(history, count);
  if (report.before <= options.budget) return report;
  // Turns: an assistant message and the tool results after it.
  std::vector<size_t> turn_start;
  for (size_t i = 0; i < history.size(); ++i)
    if (history[i].role == "assistant") turn_start.push_back(i);
  const auto turn_begin = [&](int from_end) {
    return turn_start.size() >= static_cast<size_t>(from_end) ? turn_start[turn_start.size() - static_cast<size_t>(from_end)] : size_t{0};
  };
  const size_t tail_from = options.keep_turns > 0 && !turn_start.empty() ? turn_begin(options.keep_turns) : history.size();
  const size_t snip_before = options.snip_after_turns > 0 && !turn_start.empty() ? turn_begin(options.snip_after_turns) : history.size();
  size_t task = history.size();
  for (size_t i = 0; i < history.size(); ++i)
    if (history[i].role == "user") {
      task = i;
      break;
    }
  // Pinned user messages stay; a turn is never pinned in part, so calls stay with their results.
  const auto is_protected = [&](size_t i) {
    const auto& m = history[i];
    return m.role == "system" || i == task || (m.pinned && m.role == "user") || i >= tail_from;
  };
  const auto fits = [&] {
    report.after = history_tokens(history, count);
    return report.after <= options.budget;
  };
  // 1. Offload large results.
  for (size_t i = 0; i < history.size(); ++i) {
    auto& m = history[i];
    if (m.role != "tool" || is_protected(i) || count(m.content) <= options.result_tokens) continue;
    const size_t keep = static_cast<size_t>(options.excerpt_tokens) * 4;
    if (m.content.size() <= 2 * keep) continue;
    const std::string head = m.content.substr(0, keep), tail = m.content.substr(m.content.size() - keep);
    const std::string id = refs.put(m.content);
    m.content = fmt::format("{}\n[... {} bytes offloaded; read_ref {} ...]\n{}", head, m.content.size() - 2 * keep, id, tail);
    ++report.offloaded;
  }
  if (fits()) return report;
  // 2. Snip old results to stubs.
  for (size_t i = 0; i < std::min(snip_before, history.size()); ++i) {
    auto& m = history[i];
    if (m.role != "tool" || is_protected(i) || m.content.rfind("[snipped", 0) == 0) continue;
    const std::string id = refs.put(m.content);
    m.content = fmt::format("[snipped: {}; read_ref {}]", first_line(m.content, 80), id);
    ++report.snipped;
  }
  if (fits()) return report;
  // 3. Summarise every unprotected message before the kept tail, whole turns only (the tail
  // starts at a turn, so no call is parted from its results).
  std::vector<Message> span;
  std::vector<Message> kept;
  size_t insert_at = history.size();
  for (size_t i = 0; i < history.size(); ++i) {
    if (!is_protected(i)) {
      if (insert_at == history.size()) insert_at = kept.size();
      span.push_back(history[i]);
    } else {
      kept.push_back(history[i]);
    }
  }
  if (span.empty() || !summarise) return report;
  report.summariser_called = true;
  report.summarised_messages = static_cast<int>(span.size());
  Message summary;
  summary.role = "user";
  summary.content = fmt::format("[summary of {} earlier messages]\n{}", span.size(), summarise(span));
  kept.insert(kept.begin() + static_cast<std::ptrdiff_t>(insert_at), summary);
  history = std::move(kept);
  fits();
  return report;
}

}  // namespace garden::agent
