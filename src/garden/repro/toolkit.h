// What every reproduction shares: criteria whose description and measured text are written
// from the same numbers as the test (so a threshold cannot drift from its text), table
// cells that carry their text and their value, formatters, a stopwatch, and lookups of
// optional collections under the data root, and a runner for independent arms side by side.
//
//   criterion("1. bidirectional alone hurts", {below(q("Bi avg", bi), q("Uni + w.mean avg", uni))})
//     -> "1. bidirectional alone hurts: Bi avg < Uni + w.mean avg",
//        measured "Bi avg 19.90 vs Uni + w.mean avg 21.26"
//   criterion("2. MRL matches FF", {at_least(q("MRL-16", a), q("FF-16", b), -2)})
//     -> "2. MRL matches FF: MRL-16 >= FF-16 - 2"
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/repro/reproduction.h"

namespace garden::repro {

// ---- criteria ----------------------------------------------------------------------------

// A named number with the digits it is shown with.
struct Quantity {
  std::string name;
  double value = 0;
  int digits = 2;
};
inline Quantity q(std::string name, double value, int digits = 2) { return {std::move(name), value, digits}; }

// One comparison inside a criterion.
struct Condition {
  std::string description, measured;
  bool passed = false;
};

// Against a fixed threshold: a >= t, a <= t, a > t, a < t.
Condition at_least(const Quantity& a, double threshold);
Condition at_most(const Quantity& a, double threshold);
Condition above(const Quantity& a, double threshold);
Condition below(const Quantity& a, double threshold);
// Against another quantity with an offset: a >= b + offset (offset -2: "within 2 below b"),
// a <= b + offset, a > b + offset, a < b + offset.
Condition at_least(const Quantity& a, const Quantity& b, double offset = 0);
Condition at_most(const Quantity& a, const Quantity& b, double offset = 0);
Condition above(const Quantity& a, const Quantity& b, double offset = 0);
Condition below(const Quantity& a, const Quantity& b, double offset = 0);
// a >= ratio x b and a <= ratio x b.
Condition ratio_at_least(const Quantity& a, const Quantity& b, double ratio);
Condition ratio_at_most(const Quantity& a, const Quantity& b, double ratio);
// |a - b| <= tolerance.
Condition within(const Quantity& a, const Quantity& b, double tolerance);
// a count equal to an expected one (sizes, disagreements).
Condition equals(const std::string& name, int64_t value, int64_t expected);
// A predicate the comparisons above cannot state (an ordering over a list, a set of exact
// values); `description` says what is tested, `measured` what was seen.
Condition holds(std::string description, bool passed, std::string measured);
// Every condition in `conditions` holds; the description and measured text list each one.
Condition all_of(std::string description, const std::vector<Condition>& conditions);

// A quantity measured once per seed (the run's seed first, then seed + 1, ...), for criteria
// whose margin is small against seed-to-seed noise. A comparison of two such quantities holds
// only when it holds on every seed; its measured text gives each seed's values and the mean
// and spread (largest minus smallest) of the difference a - b across seeds.
struct Seeded {
  std::string name;
  std::vector<double> values;
  int digits = 2;
};
inline Seeded seeded(std::string name, std::vector<double> values, int digits = 2) { return {std::move(name), std::move(values), digits}; }
Condition at_most_on_every_seed(const Seeded& a, const Seeded& b, double offset = 0);
Condition below_on_every_seed(const Seeded& a, const Seeded& b, double offset = 0);

// A criterion passes when all its conditions do. `label` (what the paper claims, with the
// spec's number) prefixes the joined descriptions; a gate criterion makes the verdict
// INCONCLUSIVE when it fails.
Criterion criterion(const std::string& label, const std::vector<Condition>& conditions, bool gate = false);
// `criterion`, judged only when `precondition` holds; otherwise reported as not judged with
// the precondition's figures, and left out of the verdict.
Criterion judged_only_if(const Condition& precondition, Criterion criterion);
// A criterion that cannot be judged without data the run did not have: a failed gate.
Criterion missing_data(const std::string& label, const std::string& what, const std::string& why);

// The median of `values` (the mean of the middle two for an even count; NaN when empty).
double median(std::vector<double> values);

// ---- cells and formatters ----------------------------------------------------------------

std::string fixed(double value, int digits);                 // "0.1235"; "-" for NaN
std::string join(const std::vector<std::string>& parts, const std::string& separator);
std::string joined_numbers(const std::vector<double>& values, int digits);  // "1.21, 1.13"

Cell num(double value, int digits);  // text fixed(value, digits); NaN -> "-" and null
Cell pct(double fraction);           // 0.4567 -> "45.7", value 0.4567
Cell integer(int64_t value);
Cell missing();                       // "-" and null
Cell optional_num(const std::optional<double>& value, int digits);

// ---- figures -----------------------------------------------------------------------------

// figures[key] as a number; an Error naming the key when it is absent or not a number, so
// criteria fed incomplete figures fail loudly rather than read zeros.
double number(const Json& figures, const std::string& key);
const Json& field(const Json& figures, const std::string& key);
std::vector<double> numbers(const Json& figures, const std::string& key);
const Json& list_field(const Json& figures, const std::string& key);
std::string string_field(const Json& figures, const std::string& key);
bool boolean_field(const Json& figures, const std::string& key);

// ---- timing and data ---------------------------------------------------------------------

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  std::chrono::steady_clock::time_point start_;
};

// <data root>/<collection>/<file> when the data root has it.
std::optional<std::filesystem::path> data_file(const Context& ctx, const std::string& collection, const std::string& file);
// <data root>/<collection> when it holds a BEIR collection (corpus.jsonl).
std::optional<std::filesystem::path> beir_dir(const Context& ctx, const std::string& collection);

// Progress lines of a reproduction on stderr ("<slug>: <message>"), unless ctx.quiet.
void say(const Context& ctx, const std::string& slug, const std::string& message);

// ---- independent arms side by side -------------------------------------------------------

struct Job {
  std::string name;
  std::function<void()> run;  // writes its result into a slot of its own
};

// Runs independent jobs (a comparison's arms) side by side: as many at once as libtorch has
// threads, each on one thread, with one progress bar over the jobs. Small models use a second
// thread poorly (a d=128 training step is about 1.2x faster on 2 threads than on 1), so two
// arms at once finish about 1.5x sooner than one after the other on two threads. Every job
// computes on one thread whatever --threads says, so its figures do not depend on the thread
// count. A job must print nothing (train quietly) and draw from libtorch's global generator
// only inside with_seed. The first failure (in job order) is rethrown once running jobs end;
// jobs not yet started are skipped.
void run_side_by_side(const Context& ctx, const std::string& label, const std::vector<Job>& jobs);

std::mutex& global_generator_mutex();

// `make()` run with libtorch's global generator seeded with `seed` (a model's initial
// weights), one caller at a time: a job side by side with others gets the weights it would
// get alone.
template <typename Make>
auto with_seed(uint64_t seed, Make make) {
  std::lock_guard<std::mutex> lock(global_generator_mutex());
  torch::manual_seed(seed);
  return make();
}

}  // namespace garden::repro
