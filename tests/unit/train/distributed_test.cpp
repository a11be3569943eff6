// Data-parallel training over c10d/Gloo, with every rank a thread of this process on
// loopback: the collectives, gradient averaging against one process's gradient on the whole
// batch (buckets, accumulation, an unused parameter), the contrastive loss over gathered
// embeddings against the single-process loss and gradient, the Trainer's loss curve against
// one process training on the global batch, and the errors that name the rank at fault.
#include "garden/train/distributed.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <functional>
#include <thread>

#include "garden/core/error.h"
#include "garden/core/json.h"
#include "garden/core/safetensors.h"
#include "garden/train/embedder_training.h"
#include "garden/train/run_folder.h"
#include "garden/train/trainer.h"
#include "test_helpers.h"

namespace garden::train {
namespace {

int64_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

// Runs fn(group) on `world` ranks, one thread each; rethrows the first rank's exception.
void on_ranks(int64_t world, const std::function<void(ProcessGroup&)>& fn, int64_t timeout_seconds = 30) {
  DistributedSpec spec;
  spec.world_size = world;
  spec.master_port = free_port();
  spec.timeout_seconds = timeout_seconds;
  std::vector<std::exception_ptr> errors(static_cast<size_t>(world));
  std::vector<std::thread> threads;
  for (int64_t rank = 0; rank < world; ++rank)
    threads.emplace_back([&, rank] {
      try {
        auto mine = spec;
        mine.rank = rank;
        ProcessGroup group(mine);
        fn(group);
      } catch (...) {
        errors[static_cast<size_t>(rank)] = std::current_exception();
      }
    });
  for (auto& thread : threads) thread.join();
  for (const auto& error : errors)
    if (error) std::rethrow_exception(error);
}

TEST(Distributed, SpecFromFlagsAndEnvironment) {
  for (const char* name : {"WORLD_SIZE", "RANK", "MASTER_ADDR", "MASTER_PORT"}) unsetenv(name);
  EXPECT_FALSE(DistributedSpec::from_environment().active());
  setenv("WORLD_SIZE", "4", 1);
  setenv("RANK", "3", 1);
  setenv("MASTER_ADDR", "node0", 1);
  setenv("MASTER_PORT", "1234", 1);
  const auto spec = DistributedSpec::from_environment();
  EXPECT_EQ(spec.world_size, 4);
  EXPECT_EQ(spec.rank, 3);
  EXPECT_EQ(spec.master_addr, "node0");
  EXPECT_EQ(spec.master_port, 1234);
  setenv("MASTER_PORT", "http", 1);
  testing::expect_error_containing([] { DistributedSpec::from_environment(); }, "$MASTER_PORT must be an integer");
  for (const char* name : {"WORLD_SIZE", "RANK", "MASTER_ADDR", "MASTER_PORT"}) unsetenv(name);

  DistributedSpec given;
  given.set_master("10.0.0.2:29600", "--master");
  EXPECT_EQ(given.master_addr, "10.0.0.2");
  EXPECT_EQ(given.master_port, 29600);
  given.set_master("[::1]:80", "--master");
  EXPECT_EQ(given.master_addr, "::1");
  for (const char* bad : {"node0", ":80", "node0:", "node0:99999", "node0:x"})
    testing::expect_error_containing([&] { given.set_master(bad, "--master"); }, "--master must be HOST:PORT");
  given.world_size = 2;
  given.rank = 2;
  testing::expect_error_containing([&] { given.validate(); }, "--rank must be in 0..1");
}

TEST(Distributed, CollectivesSumGatherAndBroadcast) {
  on_ranks(3, [](ProcessGroup& group) {
    const double r = static_cast<double>(group.rank());
    EXPECT_EQ(group.sum({r + 1, 10 * r}), (std::vector<double>{6, 30}));
    const auto rows = group.all_gather(torch::full({2, 3}, r));
    ASSERT_EQ(rows.sizes(), torch::IntArrayRef({6, 3}));
    for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(rows[i][0].item<double>(), static_cast<double>(i / 2));
    std::vector<torch::Tensor> tensors{torch::full({4}, r), torch::full({2, 2}, -r).t()};  // one not contiguous
    group.broadcast(tensors, 1);
    EXPECT_TRUE(torch::equal(tensors[0], torch::full({4}, 1.0)));
    EXPECT_TRUE(torch::equal(tensors[1], torch::full({2, 2}, -1.0)));
    // Gradients reach this rank's rows only.
    auto local = torch::full({2, 3}, r, torch::requires_grad());
    const auto gathered = group.all_gather_with_local_grad(local);
    (gathered * torch::arange(6).view({6, 1})).sum().backward();
    EXPECT_TRUE(torch::equal(local.grad(), torch::arange(2 * group.rank(), 2 * group.rank() + 2).to(torch::kFloat).view({2, 1}).expand({2, 3})));
    group.barrier();
  });
}

torch::nn::Sequential small_net() {
  torch::manual_seed(7);
  torch::nn::Sequential net(torch::nn::Linear(5, 12), torch::nn::Tanh(), torch::nn::Linear(12, 12), torch::nn::Tanh(),
                            torch::nn::Linear(12, 1));
  net->register_parameter("unused", torch::zeros({3}));  // gets no gradient: reduced as zeros
  return net;
}

// Two micro-batches of 8 rows accumulated; rank r holds rows [4r, 4r + 4) of each. The mean
// over ranks of their gradients is the single process's gradient on all rows, with buckets
// of 200 bytes (several per backward) as with one bucket.
TEST(Distributed, GradientReducerAveragesAsOneProcessOnTheWholeBatch) {
  torch::manual_seed(1);
  const auto x = torch::randn({16, 5}), y = torch::randn({16, 1});
  auto reference = small_net();
  for (int micro = 0; micro < 2; ++micro)
    (torch::mse_loss(reference->forward(x.narrow(0, 8 * micro, 8)), y.narrow(0, 8 * micro, 8)) / 2).backward();
  for (int64_t bucket_bytes : {int64_t{200}, int64_t{1} << 20}) {
    std::vector<torch::nn::Sequential> nets{small_net(), small_net()};
    on_ranks(2, [&](ProcessGroup& group) {
      auto& net = nets[static_cast<size_t>(group.rank())];
      GradientReducer reducer(group, net->parameters(), bucket_bytes);
      for (int micro = 0; micro < 2; ++micro) {
        if (micro == 1) reducer.arm();
        const auto rows = x.narrow(0, 8 * micro + 4 * group.rank(), 4);
        const auto targets = y.narrow(0, 8 * micro + 4 * group.rank(), 4);
        (torch::mse_loss(net->forward(rows), targets) / 2).backward();
      }
      reducer.finish();
      // Small buckets: all but the one holding the unused parameter (whose gradient never
      // arrives) go out during backward; one bucket holds it all and waits for finish().
      if (bucket_bytes == 200) {
        EXPECT_GT(reducer.buckets(), 2);
        EXPECT_EQ(reducer.overlapped_buckets(), reducer.buckets() - 1);
      } else {
        EXPECT_EQ(reducer.buckets(), 1);
        EXPECT_EQ(reducer.overlapped_buckets(), 0);
      }
    });
    for (const auto& net : nets) {
      const auto got = net->named_parameters(), want = reference->named_parameters();
      for (const auto& item : want) {
        if (item.key() == "unused") {
          ASSERT_TRUE(got[item.key()].grad().defined());
          EXPECT_EQ(got[item.key()].grad().abs().sum().item<double>(), 0.0);
          continue;
        }
        EXPECT_TRUE(torch::allclose(got[item.key()].grad(), item.value().grad(), 1e-5, 1e-7)) << item.key() << " buckets " << bucket_bytes;
      }
    }
  }
}

std::vector<text::TextPair> rank_letter_pairs() {
  std::vector<text::TextPair> pairs;
  for (char c = 'a'; c <= 'h'; ++c) {
    const std::string letter(1, c), other(1, static_cast<char>('a' + ((c - 'a' + 3) % 8)));
    pairs.push_back({"k" + letter, letter + letter + " x" + letter, letter, {other + other + " y"}});
  }
  return pairs;
}

// Each rank embeds its half of 8 pairs; the loss over the gathered embeddings is the loss of
// one process on all 8 (in-batch negatives span the global batch), on every rank, and the
// mean over ranks of loss x backward_scale's gradients is that process's gradient.
TEST(Distributed, GatheredContrastiveLossIsTheGlobalBatchsLoss) {
  const text::ByteTokenizer tok;
  const auto pairs = rank_letter_pairs();
  EmbedObjectiveConfig config;
  config.hard_negatives = 1;
  config.contrastive.temperature = 0.1;
  auto reference = testing::tiny_embedder();
  std::vector<const text::TextPair*> all;
  for (const auto& pair : pairs) all.push_back(&pair);
  const auto want = contrastive_batch_loss(reference, tok, all, config);
  want.loss.backward();
  std::vector<model::Embedder> copies{testing::tiny_embedder(), testing::tiny_embedder()};
  std::vector<double> losses(2);
  on_ranks(2, [&](ProcessGroup& group) {
    auto& embedder = copies[static_cast<size_t>(group.rank())];
    const std::vector<const text::TextPair*> mine(all.begin() + 4 * group.rank(), all.begin() + 4 * group.rank() + 4);
    const auto step = contrastive_batch_loss(embedder, tok, mine, config, &group);
    losses[static_cast<size_t>(group.rank())] = step.loss.item<double>();
    EXPECT_EQ(step.backward_scale, 2.0);
    (step.loss * step.backward_scale).backward();
    std::vector<torch::Tensor> grads;
    for (auto& p : embedder->parameters())
      if (p.grad().defined()) grads.push_back(p.grad());
    group.all_reduce_sum(grads);
    for (auto& g : grads) g.div_(2.0);
  });
  for (const double loss : losses) EXPECT_NEAR(loss, want.loss.item<double>(), 1e-6);
  for (const auto& copy : copies) {
    const auto got = copy->named_parameters();
    for (const auto& item : reference->named_parameters()) {
      if (!item.value().grad().defined()) continue;
      EXPECT_TRUE(torch::allclose(got[item.key()].grad(), item.value().grad(), 1e-4, 1e-6)) << item.key();
    }
  }
}

// Two ranks training on batch 4 each: the loss curve and the weights of one process
// training on the global batch of 8, and rank 0 alone writes the run, recording the world
// size that a resume must match.
TEST(Distributed, TrainerOnTwoRanksFollowsOneProcessOnTheGlobalBatch) {
  testing::TempDir dir;
  auto config = testing::small_lm_train(8);
  config.batch = 8;
  const TokenWindows global(testing::cyclic_tokens(400), testing::cyclic_tokens(100), 10, 8, 8, 4, 5);
  torch::manual_seed(3);
  model::Transformer single(testing::tiny_config());
  Trainer one(config, dir.path() / "single");
  one.quiet = true;
  const auto want = one.fit(single, global, false);

  config.batch = 4;
  std::vector<model::Transformer> replicas;
  for (int i = 0; i < 2; ++i) {
    torch::manual_seed(3);
    replicas.emplace_back(testing::tiny_config());
  }
  std::vector<TrainResult> got(2);
  on_ranks(2, [&](ProcessGroup& group) {
    Trainer trainer(config, dir.path() / "ranks");
    trainer.quiet = true;
    trainer.group = &group;
    got[static_cast<size_t>(group.rank())] = trainer.fit(replicas[static_cast<size_t>(group.rank())], global, false);
  });
  for (const auto& result : got) {
    ASSERT_EQ(result.step_losses.size(), want.step_losses.size());
    for (size_t i = 0; i < want.step_losses.size(); ++i) EXPECT_NEAR(result.step_losses[i], want.step_losses[i], 1e-5) << "step " << i + 1;
    EXPECT_NEAR(result.val_loss, want.val_loss, 1e-5);
  }
  for (const auto& replica : replicas) {
    const auto params = replica->named_parameters();
    for (const auto& item : single->named_parameters())
      EXPECT_TRUE(torch::allclose(params[item.key()], item.value(), 1e-4, 1e-5)) << item.key();
  }
  const auto state = read_json_file(latest_checkpoint(dir.path() / "ranks") / "state.json");
  EXPECT_EQ(state.at("world_size"), 2);
  EXPECT_EQ(load_safetensors(latest_checkpoint(dir.path() / "ranks") / "rng.safetensors").size(), 2u);  // each rank's generator

  Trainer alone(config, dir.path() / "ranks");
  alone.quiet = true;
  torch::manual_seed(3);
  model::Transformer again(testing::tiny_config());
  testing::expect_error_containing([&] { alone.fit(again, global, true); }, "was trained by 2 ranks");
}

// A rank that fails says why in the store; the others' next collective names it.
TEST(Distributed, AFailedRankIsNamedByTheOthers) {
  EXPECT_THROW(on_ranks(2,
                        [](ProcessGroup& group) {
                          if (group.rank() == 1) {
                            group.report_failure("the disk is full");
                            return;  // leaves the group
                          }
                          try {
                            group.sum({1.0});
                          } catch (const Error& e) {
                            EXPECT_NE(std::string(e.what()).find("rank 1 failed: the disk is full"), std::string::npos) << e.what();
                            EXPECT_NE(std::string(e.what()).find("rank 0: the all-reduce across 2 ranks failed"), std::string::npos);
                            throw;
                          }
                        }),
               Error);
}

TEST(Distributed, ARankAloneGivesUpAfterTheTimeout) {
  DistributedSpec spec;
  spec.world_size = 2;
  spec.master_port = free_port();
  spec.timeout_seconds = 1;
  testing::expect_error_containing([&] { ProcessGroup group(spec); }, "rendezvous at 127.0.0.1:" + std::to_string(spec.master_port) + " failed: rank 1 never joined within 1 s");
}

}  // namespace
}  // namespace garden::train
