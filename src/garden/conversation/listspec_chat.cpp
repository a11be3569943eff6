#include "garden/conversation/listspec_chat.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "garden/core/artifact_cache.h"
#include "garden/core/files.h"
#include "garden/model/model_folder.h"
#include "garden/text/listspec.h"
#include "garden/train/trainer.h"

namespace garden::conversation {

namespace fs = std::filesystem;
namespace ls = text::listspec;

namespace {

// Raised whenever a change to this file changes the model it builds.
constexpr int kListspecChatVersion = 1;
constexpr int64_t kHeldOutDialogues = 1000;

std::string concat_of(const std::vector<ls::Constraint>& constraints) {
  std::string text = std::string("- ") + ls::kIntent;
  for (const auto& c : constraints) text += "\n- " + ls::shard_text(c);
  return text;
}

std::string answer(const std::vector<ls::Constraint>& constraints, ls::Rng& rng) {
  const auto list = ls::random_solution(constraints, rng);
  if (!list) throw Error("listspec: a dialogue's constraints have no solution");
  return ls::format_list(*list);
}

// Shard 1, then the constraints in a random order and paraphrase, each turn answered by the
// multi-turn policy.
ChatDialogue multi_turn_dialogue(const std::vector<ls::Constraint>& constraints, ls::Rng& rng) {
  ChatDialogue d;
  d.messages.push_back({"user", ls::kIntent});
  ls::Digits current = *ls::random_solution({}, rng);
  d.messages.push_back({"assistant", ls::format_list(current)});
  std::vector<size_t> order(constraints.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<ls::Constraint> revealed;
  for (size_t i : order) {
    revealed.push_back(constraints[i]);
    d.messages.push_back({"user", ls::paraphrase(constraints[i], std::uniform_int_distribution<int>(0, ls::kParaphrases - 1)(rng))});
    if (!ls::satisfies_all(current, revealed)) current = *ls::random_solution(revealed, rng);
    d.messages.push_back({"assistant", ls::format_list(current)});
  }
  return d;
}

model::TransformerConfig chat_model_config(const ListspecChatOptions& options, int64_t vocab) {
  model::TransformerConfig config;
  config.vocab = vocab;
  config.d_model = options.d_model;
  config.n_layers = options.layers;
  config.n_heads = options.heads;
  config.max_seq = 1024;
  config.pos = model::Positions::rope;  // batched simulation left-pads prompts: exact under RoPE only
  config.validate();
  return config;
}

}  // namespace

ChatMix chat_mix(double multi_turn_share) {
  if (!(multi_turn_share >= 0 && multi_turn_share <= 0.88))
    usage_error(fmt::format("the multi-turn share must be in [0, 0.88], got {}", multi_turn_share));
  ChatMix mix;
  mix.multi_turn = multi_turn_share;
  mix.full = 0.88 - multi_turn_share;
  return mix;
}

std::vector<ChatDialogue> listspec_dialogues(int64_t count, const ChatMix& mix, uint64_t seed) {
  ls::Rng rng(seed);
  const auto share = [&](double s) { return static_cast<int64_t>(std::llround(s * static_cast<double>(count))); };
  std::vector<std::string> kinds;
  kinds.insert(kinds.end(), static_cast<size_t>(share(mix.concat)), "concat");
  kinds.insert(kinds.end(), static_cast<size_t>(share(mix.recap)), "recap");
  kinds.insert(kinds.end(), static_cast<size_t>(share(mix.multi_turn)), "multi-turn");
  if (static_cast<int64_t>(kinds.size()) > count) kinds.resize(static_cast<size_t>(count));
  kinds.insert(kinds.end(), static_cast<size_t>(count) - kinds.size(), "full");
  std::shuffle(kinds.begin(), kinds.end(), rng);
  std::vector<ChatDialogue> dialogues;
  dialogues.reserve(kinds.size());
  for (const auto& kind : kinds) {
    const auto constraints = ls::random_constraints(rng);
    ChatDialogue d;
    if (kind == "full" || kind == "concat") {
      d.messages = {{"user", kind == "full" ? ls::full_prompt(constraints) : concat_of(constraints)}, {"assistant", answer(constraints, rng)}};
      d.trained = {false, true};
    } else {
      d = multi_turn_dialogue(constraints, rng);
      d.trained.assign(d.messages.size(), false);
      for (size_t i = 0; i < d.messages.size(); ++i) d.trained[i] = kind == "multi-turn" && d.messages[i].role == "assistant";
      if (kind == "recap") {
        // A SHARDED conversation as the simulator runs it, then the recap: half the answers
        // are any lists, as an assistant that lost track gives them, and the conversation
        // ends at the first list meeting every constraint or after the last shard. The
        // recap's answer keeps that last list when it meets every constraint and is drawn
        // anew otherwise, so it is learnt from the restated shards, not copied blindly.
        for (size_t i = 1; i < d.messages.size(); i += 2) {
          if (std::uniform_int_distribution<int>(0, 1)(rng) == 0) d.messages[i].content = answer({}, rng);
          if (ls::satisfies_all(ls::extract_lists(d.messages[i].content).front(), constraints)) {
            d.messages.resize(i + 1);
            d.trained.resize(i + 1);
            break;
          }
        }
        const auto last = ls::extract_lists(d.messages.back().content).front();
        d.messages.push_back({"user", recap_message(concat_of(constraints))});
        d.messages.push_back({"assistant", ls::satisfies_all(last, constraints) ? ls::format_list(last) : answer(constraints, rng)});
        d.trained.push_back(false);
        d.trained.push_back(true);
      }
    }
    d.kind = kind;
    dialogues.push_back(std::move(d));
  }
  return dialogues;
}

train::TokenRow dialogue_row(const text::Tokenizer& tokenizer, const ChatDialogue& dialogue) {
  const int64_t end = tokenizer.piece_to_id("<|end|>");
  if (end < 0 || tokenizer.piece_to_id("<|user|>") < 0 || tokenizer.piece_to_id("<|assistant|>") < 0 || tokenizer.piece_to_id("<|system|>") < 0)
    throw Error("the chat tokenizer needs the pieces <|system|>, <|user|>, <|assistant|> and <|end|>");
  train::TokenRow row;
  const auto add = [&](const std::vector<int64_t>& ids, bool counted) {
    row.tokens.insert(row.tokens.end(), ids.begin(), ids.end());
    row.counted.insert(row.counted.end(), ids.size(), counted ? 1 : 0);
  };
  add({tokenizer.bos_id()}, false);
  for (size_t i = 0; i < dialogue.messages.size(); ++i) {
    const auto& m = dialogue.messages[i];
    const bool counted = i < dialogue.trained.size() && dialogue.trained[i];
    add(tokenizer.encode("<|" + m.role + "|>\n"), false);
    add(tokenizer.encode(m.content), counted);
    add({end}, counted);
    add(tokenizer.encode("\n"), false);
  }
  return row;
}

text::TokenizerTrainOptions chat_tokenizer_options(const fs::path& text, int64_t vocab) {
  text::TokenizerTrainOptions tok;
  tok.inputs = {text};
  tok.vocab = vocab;
  tok.user_symbols = {"<|system|>", "<|user|>", "<|assistant|>", "<|end|>"};
  tok.dummy_prefix = false;
  tok.split_digits = false;  // ", 7" as one piece: a list costs about a token per item
  return tok;
}

void ListspecChatOptions::validate() const {
  chat_mix(multi_turn_share);
  if (dialogues < 10 || vocab < 300 || steps < 1 || batch < 1 || !(lr > 0))
    usage_error("listspec chat: dialogues >= 10, vocab >= 300, steps >= 1, batch >= 1 and lr > 0 are needed");
  if (d_model < 8 || layers < 1 || heads < 1 || d_model % heads != 0)
    usage_error("listspec chat: d_model >= 8, layers >= 1 and heads >= 1 dividing d_model are needed");
}

Json ListspecChatOptions::to_json() const {
  return {{"multi_turn_share", multi_turn_share}, {"dialogues", dialogues}, {"vocab", vocab}, {"d_model", d_model},
          {"layers", layers}, {"heads", heads}, {"steps", steps}, {"batch", batch}, {"lr", lr}, {"seed", seed}};
}

ListspecChat ensure_listspec_chat(const fs::path& cache, const ListspecChatOptions& options, bool quiet, const ChatModelFactory& factory) {
  options.validate();
  const ArtifactRecipe recipe{"listspec-chat", kListspecChatVersion, {{"options", options.to_json()}}};
  const auto build = [&](const fs::path& staged, const fs::path&) {
    const auto mix = chat_mix(options.multi_turn_share);
    // Held-out dialogues come from a stream of their own, so they never depend on the count.
    const auto train_dialogues = listspec_dialogues(options.dialogues, mix, options.seed * 2 + 1);
    const auto held_out = listspec_dialogues(kHeldOutDialogues, mix, options.seed * 2 + 2);
    std::string lines;
    for (const auto& d : train_dialogues)
      for (const auto& m : d.messages) lines += m.content + "\n";
    write_file_atomic(staged / "tokenizer-text.txt", lines);
    text::train_tokenizer(chat_tokenizer_options(staged / "tokenizer-text.txt", options.vocab), staged / "tokenizer.model");
    fs::remove(staged / "tokenizer-text.txt");
    const text::SentencePieceTokenizer tokenizer(staged / "tokenizer.model");

    std::vector<train::TokenRow> train_rows, eval_rows;
    int64_t longest = 0;
    for (const auto& d : train_dialogues) train_rows.push_back(dialogue_row(tokenizer, d));
    for (const auto& d : held_out) {
      eval_rows.push_back(dialogue_row(tokenizer, d));
      // The model must read at simulation time exactly what it trained on: the chat template's
      // prompt, tokenised whole, gives the same tokens as the rows tokenised message by message.
      std::string whole;
      for (const auto& m : d.messages) whole += "<|" + m.role + "|>\n" + m.content + "<|end|>\n";
      auto ids = tokenizer.encode(whole);
      ids.insert(ids.begin(), tokenizer.bos_id());
      if (ids != eval_rows.back().tokens) throw Error("listspec chat: the tokenizer splits a dialogue differently at message boundaries");
    }
    for (const auto& r : train_rows) longest = std::max<int64_t>(longest, static_cast<int64_t>(r.tokens.size()));
    train::TokenRowBatches data(std::move(train_rows), std::move(eval_rows), tokenizer.pad_id(), options.batch, options.seed);

    train::TrainConfig tc;
    tc.steps = options.steps;
    tc.batch = options.batch;
    tc.seq = longest;
    tc.lr = options.lr;
    tc.warmup = std::max<int64_t>(1, options.steps / 10);
    tc.eval_every = 0;
    tc.checkpoint_every = 0;
    tc.keep_checkpoints = 1;
    tc.seed = options.seed;
    const auto config = chat_model_config(options, tokenizer.vocab_size());
    model::Transformer model{nullptr};
    if (factory) {
      model = factory(config);
    } else {
      torch::manual_seed(static_cast<int64_t>(options.seed));
      model = model::Transformer(config);
    }
    train::Trainer trainer(tc, staged / "run");
    trainer.quiet = quiet;
    trainer.tokenizer_spec = (staged / "tokenizer.model").string();
    const auto result = trainer.fit(model, data, /*resume=*/false);
    model::save_model(staged / "model", model, trainer.tokenizer_spec);
    fs::remove_all(staged / "run");  // the model folder holds the weights; done.json the figures
    write_json_atomic(staged / "done.json", Json{{"val_loss", result.val_loss}, {"seconds", result.seconds},
                                                 {"parameters", model->parameter_count()}, {"options", options.to_json()},
                                                 {"train_loss", result.final_train_loss}});
  };
  const Artifact artifact = ensure_artifact(cache, recipe, build);
  const Json done = read_json_file(artifact.dir / "done.json");
  return {artifact.dir / "model", artifact.built, done.value("val_loss", 0.0), done.value("seconds", 0.0),
          done.value("parameters", int64_t{0})};
}

}  // namespace garden::conversation
