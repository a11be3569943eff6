#include "garden/eval/creativity.h"

#include <fmt/core.h>

#include "garden/core/error.h"

namespace garden::eval {

Json CreativityScores::to_json() const {
  return {{"n", n}, {"coherence", coherence}, {"memorization", memorization}, {"diversity", diversity}, {"creativity", creativity}};
}

CreativityScores creativity_scores(const text::creative::TaskData& data, const std::set<std::string>& memory,
                                   const std::vector<text::creative::Output>& outputs) {
  CreativityScores s;
  s.n = static_cast<int64_t>(outputs.size());
  if (s.n == 0) return s;
  int64_t coherent = 0, memorized = 0;
  std::set<std::vector<int64_t>> distinct_coherent, distinct_novel;
  for (const auto& out : outputs) {
    if (!out.ended || !text::creative::coherent(data, out.answer)) continue;
    ++coherent;
    distinct_coherent.insert(out.answer);
    if (memory.count(text::creative::memory_key(data, out.answer))) ++memorized;
    else distinct_novel.insert(out.answer);
  }
  const auto n = static_cast<double>(s.n);
  s.coherence = static_cast<double>(coherent) / n;
  s.memorization = static_cast<double>(memorized) / n;
  s.diversity = static_cast<double>(distinct_coherent.size()) / n;
  s.creativity = static_cast<double>(distinct_novel.size()) / n;
  return s;
}

double train_memorization(const std::vector<text::creative::Output>& outputs, const std::vector<text::creative::Example>& examples) {
  if (outputs.size() != examples.size())
    throw Error(fmt::format("train memorisation: {} generations for {} examples", outputs.size(), examples.size()));
  if (outputs.empty()) return 0;
  int64_t same = 0;
  for (size_t i = 0; i < outputs.size(); ++i) same += outputs[i].ended && outputs[i].answer == examples[i].answer;
  return static_cast<double>(same) / static_cast<double>(outputs.size());
}

}  // namespace garden::eval
