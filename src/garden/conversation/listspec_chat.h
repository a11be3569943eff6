// The chat assistant of the lost-in-conversation reproduction (lost-in-conversation.md,
// "Small-scale reproduction", step 1): a ~1M-parameter decoder trained on listspec dialogues
// in garden's chat format (serve/chat_template.h, role pieces), the loss on assistant turns
// only. The training mix, by default 78% FULL, 10% CONCAT, 2% RECAP-format and 10% multi-turn:
//   full        the full prompt, then a list meeting every constraint;
//   concat      the shards as a bullet list, then such a list;
//   multi-turn  shard 1, then the other shards in a random order and paraphrase, the
//               assistant answering every turn with a list meeting the constraints revealed
//               so far (the previous answer kept while it still does, else a new one drawn);
//   recap       a multi-turn dialogue, half its answers any lists, ended where the simulator
//               ends a SHARDED one (the first list meeting every constraint, or the last
//               shard), then the recap turn (simulator.h) and the last list if it meets every
//               constraint, else a new one that does; only that answer trains.
// A changed multi-turn share takes from or gives to FULL. Models are artifacts of recipe
// "listspec-chat", built once per options into the cache.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "garden/conversation/simulator.h"
#include "garden/core/json.h"
#include "garden/model/transformer.h"
#include "garden/text/tokenizer.h"
#include "garden/train/batches.h"

namespace garden::conversation {

struct ChatDialogue {
  std::string kind;  // full | concat | multi-turn | recap
  std::vector<Message> messages;
  std::vector<bool> trained;  // per message: an assistant message whose tokens are targets
};

// The shares of the four kinds for a multi-turn share s: FULL 0.88 - s, CONCAT 0.10, RECAP 0.02.
struct ChatMix {
  double full = 0.78, concat = 0.10, recap = 0.02, multi_turn = 0.10;
};
ChatMix chat_mix(double multi_turn_share);

// `count` dialogues of the mix, each of a fresh random instruction, drawn from `seed`: the
// kinds in exact proportions (rounded), in a shuffled order.
std::vector<ChatDialogue> listspec_dialogues(int64_t count, const ChatMix& mix, uint64_t seed);

// A dialogue as the model reads it: BOS, then each message rendered as the role-pieces chat
// template renders it ("<|role|>\n{content}<|end|>\n"), its content and <|end|> counted when
// the message trains. Throws when the tokenizer lacks the role pieces.
train::TokenRow dialogue_row(const text::Tokenizer& tokenizer, const ChatDialogue& dialogue);

// The chat tokenizer's settings for a text file of messages: the chat template's role pieces,
// no dummy prefix (a message tokenises alone as inside the whole prompt), digits joined to
// what surrounds them.
text::TokenizerTrainOptions chat_tokenizer_options(const std::filesystem::path& text, int64_t vocab);

struct ListspecChatOptions {
  double multi_turn_share = 0.10;
  int64_t dialogues = 60000;  // training dialogues (plus 1,000 held out)
  int64_t vocab = 600;        // SentencePiece pieces, 256 byte pieces among them
  int64_t d_model = 128, layers = 4, heads = 4;
  int64_t steps = 1500, batch = 64;
  double lr = 3e-3;
  uint64_t seed = 0;
  void validate() const;
  Json to_json() const;
};

struct ListspecChat {
  std::filesystem::path model;  // a model folder with its tokenizer
  bool built = false;           // this call trained it (false: from the cache)
  double val_loss = 0;          // nats per assistant token on the held-out dialogues
  double seconds = 0;           // training time (recorded when built)
  int64_t parameters = 0;
};

// Makes the model's initial weights from its config; the default seeds libtorch's global
// generator with the options' seed (callers running several at once pass a locked one).
using ChatModelFactory = std::function<model::Transformer(const model::TransformerConfig&)>;

// The cached model for these options, trained first when absent.
ListspecChat ensure_listspec_chat(const std::filesystem::path& cache, const ListspecChatOptions& options, bool quiet,
                                  const ChatModelFactory& factory = {});

}  // namespace garden::conversation
