#include "garden/repro/toolkit.h"

#include <fmt/core.h>

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <thread>

#include "garden/core/data_root.h"
#include "garden/core/error.h"
#include "garden/core/progress.h"

namespace garden::repro {

namespace {

std::string shown(const Quantity& a) { return a.name + " " + fixed(a.value, a.digits); }

// " + 3", " - 2", "" for a zero offset.
std::string offset_text(double offset) {
  if (offset == 0) return "";
  return fmt::format(" {} {:g}", offset > 0 ? "+" : "-", std::abs(offset));
}

Condition against_threshold(const Quantity& a, const char* op, double threshold, bool passed) {
  return {fmt::format("{} {} {:g}", a.name, op, threshold), shown(a), passed};
}

Condition against_quantity(const Quantity& a, const char* op, const Quantity& b, double offset, bool passed) {
  return {fmt::format("{} {} {}{}", a.name, op, b.name, offset_text(offset)), shown(a) + " vs " + shown(b), passed};
}

Condition on_every_seed(const Seeded& a, const char* op, const Seeded& b, double offset, bool (*holds_for)(double, double)) {
  if (a.values.size() != b.values.size() || a.values.size() < 2)
    throw Error(fmt::format("a comparison over seeds needs the same two or more seeds on both sides: {} has {}, {} has {}", a.name,
                            a.values.size(), b.name, b.values.size()));
  bool passed = true;
  std::vector<double> differences;
  for (size_t i = 0; i < a.values.size(); ++i) {
    passed = passed && holds_for(a.values[i], b.values[i] + offset);
    differences.push_back(a.values[i] - b.values[i]);
  }
  const auto [low, high] = std::minmax_element(differences.begin(), differences.end());
  double mean = 0;
  for (const double d : differences) mean += d / static_cast<double>(differences.size());
  const int digits = std::max(a.digits, b.digits);
  std::vector<std::string> signed_differences;
  for (const double d : differences) signed_differences.push_back(fmt::format("{:+.{}f}", d, digits));
  return {fmt::format("{} {} {}{} on each of {} seeds", a.name, op, b.name, offset_text(offset), a.values.size()),
          fmt::format("{} {} vs {} {} (difference by seed {}: mean {:+.{}f}, spread {:.{}f})", a.name, joined_numbers(a.values, a.digits), b.name,
                      joined_numbers(b.values, b.digits), join(signed_differences, ", "), mean, digits, *high - *low, digits),
          passed};
}

}  // namespace

Condition at_most_on_every_seed(const Seeded& a, const Seeded& b, double offset) {
  return on_every_seed(a, "<=", b, offset, [](double x, double y) { return x <= y; });
}
Condition below_on_every_seed(const Seeded& a, const Seeded& b, double offset) {
  return on_every_seed(a, "<", b, offset, [](double x, double y) { return x < y; });
}

Condition at_least(const Quantity& a, double t) { return against_threshold(a, ">=", t, a.value >= t); }
Condition at_most(const Quantity& a, double t) { return against_threshold(a, "<=", t, a.value <= t); }
Condition above(const Quantity& a, double t) { return against_threshold(a, ">", t, a.value > t); }
Condition below(const Quantity& a, double t) { return against_threshold(a, "<", t, a.value < t); }

Condition at_least(const Quantity& a, const Quantity& b, double offset) {
  return against_quantity(a, ">=", b, offset, a.value >= b.value + offset);
}
Condition at_most(const Quantity& a, const Quantity& b, double offset) {
  return against_quantity(a, "<=", b, offset, a.value <= b.value + offset);
}
Condition above(const Quantity& a, const Quantity& b, double offset) {
  return against_quantity(a, ">", b, offset, a.value > b.value + offset);
}
Condition below(const Quantity& a, const Quantity& b, double offset) {
  return against_quantity(a, "<", b, offset, a.value < b.value + offset);
}

Condition ratio_at_least(const Quantity& a, const Quantity& b, double ratio) {
  return {fmt::format("{} >= {:g} x {}", a.name, ratio, b.name), shown(a) + " vs " + shown(b), a.value >= ratio * b.value};
}

Condition ratio_at_most(const Quantity& a, const Quantity& b, double ratio) {
  return {fmt::format("{} <= {:g} x {}", a.name, ratio, b.name), shown(a) + " vs " + shown(b), a.value <= ratio * b.value};
}

Condition within(const Quantity& a, const Quantity& b, double tolerance) {
  return {fmt::format("|{} - {}| <= {:g}", a.name, b.name, tolerance),
          fmt::format("{} vs {} ({:+.{}f})", shown(a), shown(b), a.value - b.value, std::max(a.digits, b.digits)),
          std::abs(a.value - b.value) <= tolerance};
}

Condition equals(const std::string& name, int64_t value, int64_t expected) {
  return {fmt::format("{} = {}", name, expected), fmt::format("{} {}", name, value), value == expected};
}

Condition holds(std::string description, bool passed, std::string measured) {
  return {std::move(description), std::move(measured), passed};
}

Condition all_of(std::string description, const std::vector<Condition>& conditions) {
  Condition c{std::move(description), "", true};
  std::vector<std::string> measured;
  for (const auto& part : conditions) {
    c.passed = c.passed && part.passed;
    measured.push_back(part.measured + (part.passed ? "" : " (fails " + part.description + ")"));
  }
  c.measured = join(measured, "; ");
  return c;
}

Criterion criterion(const std::string& label, const std::vector<Condition>& conditions, bool gate) {
  if (conditions.empty()) throw Error("criterion " + label + " has no conditions");
  Criterion c;
  c.gate = gate;
  c.passed = true;
  std::vector<std::string> descriptions, measured;
  for (const auto& part : conditions) {
    c.passed = c.passed && part.passed;
    descriptions.push_back(part.description);
    measured.push_back(part.measured);
  }
  c.description = (label.empty() ? "" : label + ": ") + join(descriptions, " and ");
  c.measured = join(measured, "; ");
  return c;
}

Criterion judged_only_if(const Condition& precondition, Criterion criterion) {
  criterion.description += " (judged only if " + precondition.description + ")";
  if (!precondition.passed) {
    criterion.judged = false;
    criterion.passed = false;
    criterion.measured = "not judged: " + precondition.measured;
  }
  return criterion;
}

Criterion missing_data(const std::string& label, const std::string& what, const std::string& why) {
  return {(label.empty() ? "" : label + ": ") + what, false, why, /*gate=*/true};
}

std::string fixed(double value, int digits) {
  if (std::isnan(value)) return "-";
  return fmt::format("{:.{}f}", value, digits);
}

std::string join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? separator : "") + parts[i];
  return out;
}

std::string joined_numbers(const std::vector<double>& values, int digits) {
  std::vector<std::string> parts;
  for (double v : values) parts.push_back(fixed(v, digits));
  return join(parts, ", ");
}

Cell num(double value, int digits) {
  if (std::isnan(value)) return missing();
  return {fixed(value, digits), value};
}

Cell pct(double fraction) {
  if (std::isnan(fraction)) return missing();
  return {fixed(100 * fraction, 1), fraction};
}

Cell integer(int64_t value) { return {std::to_string(value), value}; }

Cell missing() { return {"-", nullptr}; }

Cell optional_num(const std::optional<double>& value, int digits) { return value ? num(*value, digits) : missing(); }

const Json& field(const Json& figures, const std::string& key) {
  if (!figures.is_object() || !figures.contains(key)) throw Error("figures lack '" + key + "'");
  return figures.at(key);
}

double number(const Json& figures, const std::string& key) {
  const Json& v = field(figures, key);
  if (!v.is_number()) throw Error("figures: '" + key + "' is not a number");
  return v.get<double>();
}

const Json& list_field(const Json& figures, const std::string& key) {
  const Json& v = field(figures, key);
  if (!v.is_array()) throw Error("figures: '" + key + "' is not a list");
  return v;
}

std::string string_field(const Json& figures, const std::string& key) {
  const Json& v = field(figures, key);
  if (!v.is_string()) throw Error("figures: '" + key + "' is not a string");
  return v.get<std::string>();
}

bool boolean_field(const Json& figures, const std::string& key) {
  const Json& v = field(figures, key);
  if (!v.is_boolean()) throw Error("figures: '" + key + "' is not true or false");
  return v.get<bool>();
}

std::vector<double> numbers(const Json& figures, const std::string& key) {
  std::vector<double> out;
  for (const auto& x : list_field(figures, key)) {
    if (!x.is_number()) throw Error("figures: '" + key + "' holds a value that is not a number");
    out.push_back(x.get<double>());
  }
  return out;
}

std::optional<std::filesystem::path> data_file(const Context& ctx, const std::string& collection, const std::string& file) {
  const auto dir = find_collection(ctx.data_root, collection);
  if (dir && std::filesystem::exists(*dir / file)) return *dir / file;
  return std::nullopt;
}

std::optional<std::filesystem::path> beir_dir(const Context& ctx, const std::string& collection) {
  const auto file = data_file(ctx, collection, "corpus.jsonl");
  if (!file) return std::nullopt;
  return file->parent_path();
}

void say(const Context& ctx, const std::string& slug, const std::string& message) {
  if (!ctx.quiet) fmt::print(stderr, "{}: {}\n", slug, message);
}

std::mutex& global_generator_mutex() {
  static std::mutex mutex;
  return mutex;
}

void run_side_by_side(const Context& ctx, const std::string& label, const std::vector<Job>& jobs) {
  if (jobs.empty()) return;
  const int threads = at::get_num_threads();
  const size_t workers = std::min(jobs.size(), static_cast<size_t>(std::max(threads, 1)));
  std::optional<Progress> progress;
  if (!ctx.quiet) progress.emplace(label, static_cast<int64_t>(jobs.size()), "jobs");
  std::atomic<size_t> next{0};
  std::mutex mutex;  // guards everything below it
  size_t finished = 0, failed_job = jobs.size();
  std::exception_ptr failure;
  const auto work = [&] {
    at::set_num_threads(1);  // this thread's own OpenMP setting: each job computes on one thread
    for (size_t i = next++; i < jobs.size(); i = next++) {
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (failure) return;
      }
      const Stopwatch clock;
      try {
        jobs[i].run();
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (i < failed_job) {
          failed_job = i;
          failure = std::current_exception();
        }
        continue;
      }
      std::lock_guard<std::mutex> lock(mutex);
      ++finished;
      if (progress) progress->update(static_cast<int64_t>(finished), fmt::format("{} done in {}", jobs[i].name, format_duration(clock.seconds())));
    }
  };
  std::vector<std::thread> pool;
  for (size_t w = 0; w < workers; ++w) pool.emplace_back(work);
  for (auto& thread : pool) thread.join();
  at::set_num_threads(threads);  // the workers' setting also changed libtorch's process-wide default
  if (failure) std::rethrow_exception(failure);
  if (progress) progress->finish(fmt::format("{} side by side, one thread each", workers));
}

double median(std::vector<double> values) {
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  const size_t m = values.size() / 2;
  return values.size() % 2 ? values[m] : (values[m - 1] + values[m]) / 2;
}

}  // namespace garden::repro
