// garden succinct build-counter | compile-uhat | accepts | min-dfa | agree | table.
#include <fmt/core.h>

#include "garden/cli/common.h"
#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/json.h"
#include "garden/succinct/checks.h"
#include "garden/succinct/dfa.h"
#include "garden/succinct/uhat.h"

namespace garden::cli {

namespace {

using namespace garden::succinct;

struct ProgramSource {
  std::string program_file;
  int n = 1;
  std::string lang = "single";
};

void add_program_source(CLI::App* cmd, ProgramSource& source, bool allow_file) {
  if (allow_file) cmd->add_option("--program", source.program_file, "B-RASP program JSON (from build-counter --out)");
  cmd->add_option("--n", source.n, "counter size n (K = 2^n cells per block), 1..6");
  cmd->add_option("--lang", source.lang, "single (C_n, one word) or segments (S_n)")->check(CLI::IsMember({"single", "segments"}));
}

Program load_program(const ProgramSource& source) {
  if (!source.program_file.empty()) return succinct::load_program(source.program_file);
  return build_counter_program(source.n, parse_counter_language(source.lang));
}

void write_json_file(const std::string& path, const Json& json) {
  write_file_atomic(path, json.dump(1) + "\n");
  fmt::print("wrote {}\n", path);
}

void print_size_table(const std::vector<SizeRow>& rows) {
  fmt::print("{:>2} {:>3} {:>24} {:>24} {:>9} {:>13} {:>6} {:>8} {:>7} {:>6} {:>6} {:>9} {:>5}\n", "n", "K", "|W_n|",
             "min DFA C_n", "min DFA S_n", "RNN bits >=", "LTL >=", "B-RASP", "layers", "heads", "width", "nonzero",
             "bits");
  for (const SizeRow& r : rows)
    fmt::print("{:>2} {:>3} {:>24} {:>23}{} {:>9} {:>8.1f} ({:>2}) {:>6} {:>8} {:>7} {:>6} {:>6} {:>9} {:>5}\n", r.n,
               r.cells, r.word_length, r.dfa_single.states, r.dfa_single.explicit_construction ? '*' : ' ',
               r.dfa_segments.states, r.rnn_state_bits, r.rnn_state_bits_ceil, r.ltl_lower_bound, r.program_size,
               r.uhat_layers, r.uhat_heads, r.uhat_width, r.uhat_nonzero, r.uhat_weight_bits);
  fmt::print("* built and minimised by Hopcroft's algorithm; otherwise the closed form |W_n| + 2\n");
}

}  // namespace

void register_succinct(CLI::App& app) {
  auto* group = app.add_subcommand("succinct", "transformers are succinct: B-RASP, compiled UHATs and minimal DFAs");
  group->require_subcommand(1);

  static ProgramSource build;
  static std::string build_out;
  auto* build_cmd = group->add_subcommand("build-counter", "build the poly(n) B-RASP program of C_n or S_n");
  add_program_source(build_cmd, build, false);
  build_cmd->add_option("--out", build_out, "write the program as JSON");
  build_cmd->callback([] {
    const Program p = load_program(build);
    fmt::print("B-RASP program for {} n={}: {} operations ({} attention), size {} (operations + literals)\n",
               build.lang == "single" ? "C_n" : "S_n", build.n, p.operations().size(), p.attention_count(), p.size());
    if (!build_out.empty()) write_json_file(build_out, p.to_json());
  });

  static ProgramSource compile;
  static std::string compile_out;
  auto* compile_cmd = group->add_subcommand("compile-uhat", "compile a B-RASP program to a unique-hard-attention transformer");
  add_program_source(compile_cmd, compile, true);
  compile_cmd->add_option("--out", compile_out, "write the transformer's weights as JSON");
  compile_cmd->callback([] {
    const Program p = load_program(compile);
    const Uhat uhat = Uhat::compile(p);
    const UhatSize s = uhat.size();
    fmt::print("B-RASP size {} -> UHAT: {} layers ({} attention, {} feed-forward), {} heads, {} hidden units, width {}, "
               "{} non-zero weights, largest |weight| {} ({} bits)\n",
               p.size(), s.attention_layers + s.feed_forward_layers, s.attention_layers, s.feed_forward_layers, s.heads,
               s.hidden_units, s.width, s.nonzero_weights, s.largest_weight, s.largest_weight_bits);
    if (!compile_out.empty()) write_json_file(compile_out, uhat.to_json());
  });

  static ProgramSource accepts;
  static std::string word;
  auto* accepts_cmd = group->add_subcommand("accepts", "run the program, its transformer and the reference on one word");
  add_program_source(accepts_cmd, accepts, true);
  accepts_cmd->add_option("--word", word, "the word, over the program's alphabet")->required();
  accepts_cmd->callback([] {
    const Program p = load_program(accepts);
    for (char c : word)
      if (p.alphabet().find(c) == std::string::npos)
        usage_error(fmt::format("--word: symbol '{}' is not in the alphabet '{}'", c, p.alphabet()));
    fmt::print("program: {}\ntransformer: {}\n", Interpreter(p).accepts(word) ? "accept" : "reject",
               Uhat::compile(p).accepts(word) ? "accept" : "reject");
    if (accepts.program_file.empty())
      fmt::print("member (direct parser): {}\n",
                 counter_member(accepts.n, parse_counter_language(accepts.lang), word) ? "yes" : "no");
  });

  static int dfa_n = 1;
  static std::string dfa_lang = "single";
  static int64_t dfa_max_states = 20'000'000;
  auto* dfa_cmd = group->add_subcommand("min-dfa", "the minimal complete DFA of C_n or S_n: its number of states");
  dfa_cmd->add_option("--n", dfa_n, "counter size n, 1..6");
  dfa_cmd->add_option("--lang", dfa_lang, "single or segments")->check(CLI::IsMember({"single", "segments"}));
  dfa_cmd->add_option("--max-states", dfa_max_states, "build explicitly only up to this many states");
  dfa_cmd->callback([] {
    const MinDfaResult r = min_dfa(dfa_n, parse_counter_language(dfa_lang), dfa_max_states);
    if (r.explicit_construction) {
      fmt::print("minimal complete DFA of {} n={}: {} states (Hopcroft, from {} states, {:.2f} s)\n",
                 dfa_lang == "single" ? "C_n" : "S_n", dfa_n, r.states, r.states_before_minimisation, r.seconds);
    } else if (r.states != "-") {
      fmt::print("minimal complete DFA of C_n n={}: {} states (closed form |W_n| + 2; too large to build under "
                 "--max-states {})\n", dfa_n, r.states, dfa_max_states);
    } else {
      fmt::print("minimal complete DFA of S_n n={}: not built (over --max-states {}) and no closed form known\n", dfa_n,
                 dfa_max_states);
    }
  });

  static AgreementOptions agree;
  static std::string agree_lang = "single", agree_out;
  auto* agree_cmd = group->add_subcommand("agree", "program vs compiled transformer vs minimal DFA on finite word sets");
  agree_cmd->add_option("--n", agree.n, "counter size n, 1..6");
  agree_cmd->add_option("--lang", agree_lang, "single or segments")->check(CLI::IsMember({"single", "segments"}));
  agree_cmd->add_option("--L", agree.max_length, "every word up to this length (program vs DFA)");
  agree_cmd->add_option("--uhat-L", agree.uhat_max_length, "every word up to this length (transformer vs program)");
  agree_cmd->add_option("--random", agree.random_words, "random well-framed words");
  agree_cmd->add_option("--mutants", agree.max_mutants, "mutants of the members: all, or a seeded sample of this many");
  agree_cmd->add_option("--uhat-sample", agree.uhat_sample, "words per set the transformer also runs on");
  agree_cmd->add_option("--seed", agree.seed, "seed of the random words and samples");
  agree_cmd->add_option("--out", agree_out, "write the counts as JSON");
  agree_cmd->callback([] {
    agree.language = parse_counter_language(agree_lang);
    const AgreementReport r = check_agreement(agree);
    fmt::print("{} words checked in {:.1f} s against the {}: {} disagreements\n", r.words(), r.seconds, r.reference,
               r.disagreements());
    for (const auto& w : r.examples) fmt::print("  disagreement on: {}\n", w);
    if (!agree_out.empty()) write_json_file(agree_out, r.to_json());
    if (r.disagreements() > 0) throw Error(fmt::format("{} disagreements", r.disagreements()));
  });

  static std::string table_range = "1..6", table_lang = "single";
  static int64_t table_max_states = 2'000'000;
  auto* table_cmd = group->add_subcommand("table", "sizes: word, minimal DFAs, RNN/LTL bounds, program, transformer");
  table_cmd->add_option("--n", table_range, "n or a range, e.g. 1..6");
  table_cmd->add_option("--lang", table_lang, "the program measured: single or segments")
      ->check(CLI::IsMember({"single", "segments"}));
  table_cmd->add_option("--max-states", table_max_states, "build DFAs explicitly only up to this many states");
  table_cmd->callback([] {
    const auto [from, to] = parse_int_range(table_range, "--n");
    std::vector<SizeRow> rows;
    for (int n = static_cast<int>(from); n <= static_cast<int>(to); ++n) rows.push_back(size_row(n, parse_counter_language(table_lang), table_max_states));
    print_size_table(rows);
  });
}

}  // namespace garden::cli
