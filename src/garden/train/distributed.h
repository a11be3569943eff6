// Data-parallel work over libtorch's own distributed engine, c10d: a TCPStore hosted by rank 0
// for the rendezvous and a Gloo process group for the collectives (the pieces torchrun and
// DistributedDataParallel use). Ranks find each other through WORLD_SIZE, RANK, MASTER_ADDR
// and MASTER_PORT, as torchrun sets them, or the same settings given as flags.
//
// A collective that fails (a peer died, or did not answer within the timeout) becomes a
// garden::Error naming the rank at fault: every rank bumps a heartbeat counter in the store
// once a second and records its own errors there, so a survivor can tell a rank that failed
// (and why) from one that was killed, and from rank 0, whose death takes the store with it.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "garden/core/shard.h"  // rank_share

namespace garden::train {

struct DistributedSpec {
  int64_t world_size = 1;
  int64_t rank = 0;
  std::string master_addr = "127.0.0.1";  // rank 0's host: it serves the rendezvous store
  int64_t master_port = 29500;
  int64_t timeout_seconds = 300;  // rendezvous, and any collective a peer leaves unanswered
  bool active() const { return world_size > 1; }
  // "HOST:PORT" (an IPv6 host in brackets); a usage error naming `flag` otherwise.
  void set_master(const std::string& host_port, const std::string& flag);
  // A usage error for a world size below 1, a rank outside it, a port outside 1..65535.
  void validate() const;
  // The torchrun variables WORLD_SIZE, RANK, MASTER_ADDR, MASTER_PORT where they are set (a
  // malformed one is a usage error naming it); the defaults otherwise.
  static DistributedSpec from_environment();
};

class ProcessGroup {
 public:
  // Joins the group: returns once all world_size ranks are connected, or throws after the
  // timeout naming how many joined.
  explicit ProcessGroup(const DistributedSpec& spec);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int64_t rank() const { return rank_; }
  int64_t size() const { return size_; }

  // Sums over ranks, in place (every tensor contiguous, on the CPU).
  void all_reduce_sum(std::vector<torch::Tensor>& tensors);
  std::vector<double> sum(const std::vector<double>& values);
  // Every rank's `local` (the same shape on each) concatenated along dim 0 in rank order.
  torch::Tensor all_gather(const torch::Tensor& local);
  // The same, with gradients flowing into `local` through its own rows only: a loss over the
  // gathered batch computed on every rank, backpropagated there with weight world size,
  // gives after gradient averaging exactly the gradient of that loss.
  torch::Tensor all_gather_with_local_grad(const torch::Tensor& local);
  // Copies `root`'s tensors into every rank's (same shapes and types everywhere).
  void broadcast(std::vector<torch::Tensor>& tensors, int64_t root = 0);
  void barrier();
  // Records this rank's failure in the store, so the others name it and its reason.
  void report_failure(const std::string& message) noexcept;

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  void stop_heartbeat();
  // Every rank's `local`, detached, in rank order.
  std::vector<torch::Tensor> gather_parts(const torch::Tensor& local);
  std::unique_ptr<Impl> impl_;
  int64_t rank_ = 0, size_ = 1;
};

// Averages gradients over the ranks of a group, in buckets of about `bucket_bytes`, each
// all-reduced as soon as all of its parameters have their gradient in the backward pass (so
// communication overlaps the rest of backward, as DDP's reducer does; Debian's libtorch does
// not ship the headers of DDP's own C++ reducer). Buckets hold parameters in reverse order,
// roughly the order backward produces them, and are launched strictly in order on every rank
// so the collectives match. Every rank must produce gradients for the same parameters.
class GradientReducer {
 public:
  GradientReducer(ProcessGroup& group, std::vector<torch::Tensor> parameters, int64_t bucket_bytes = int64_t{25} << 20);
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;
  // Call before the backward whose gradients are to be averaged (with accumulation: the last
  // micro-batch's; the gradients accumulated before it are included).
  void arm();
  // After that backward: launches what is left, waits for every bucket and writes the mean
  // over ranks into every parameter's gradient.
  void finish();
  // Of the last finish(): the buckets launched while backward was still running (overlap),
  // and all of them.
  int64_t overlapped_buckets() const;
  int64_t buckets() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace garden::train
