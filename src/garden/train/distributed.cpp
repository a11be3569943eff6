#include "garden/train/distributed.h"

#include <fmt/format.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <tuple>

#include "garden/core/error.h"

namespace garden::train {

namespace {

constexpr auto kHeartbeatEvery = std::chrono::seconds(1);
// A survivor watches the heartbeats this long before calling a rank dead: three beats.
constexpr auto kHeartbeatWatch = std::chrono::milliseconds(3500);

std::string heartbeat_key(int64_t rank) { return fmt::format("garden/heartbeat/{}", rank); }
std::string failure_key(int64_t rank) { return fmt::format("garden/failed/{}", rank); }

// c10d's and Gloo's messages end in a C++ backtrace: the first line says what happened.
std::string first_line(const std::string& message) { return message.substr(0, message.find('\n')); }

bool is_loopback(const std::string& host) { return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1"; }

c10::intrusive_ptr<c10d::TCPStore> connect_store(const DistributedSpec& spec, bool server, bool wait_for_workers) {
  c10d::TCPStoreOptions options;
  options.port = static_cast<uint16_t>(spec.master_port);
  options.isServer = server;
  if (wait_for_workers) options.numWorkers = static_cast<size_t>(spec.world_size);
  options.waitWorkers = wait_for_workers;
  options.timeout = std::chrono::seconds(spec.timeout_seconds);
  return c10::make_intrusive<c10d::TCPStore>(spec.master_addr, options);
}

}  // namespace

void DistributedSpec::validate() const {
  if (world_size < 1 || world_size > kMaxRanks) usage_error(fmt::format("--world-size must be in 1..{}, got {}", kMaxRanks, world_size));
  if (rank < 0 || rank >= world_size) usage_error(fmt::format("--rank must be in 0..{} for a world of {}, got {}", world_size - 1, world_size, rank));
  if (master_port < 1 || master_port > 65535) usage_error(fmt::format("the master port must be in 1..65535, got {}", master_port));
  if (master_addr.empty()) usage_error("the master address is empty");
  if (timeout_seconds < 1) usage_error(fmt::format("--dist-timeout must be >= 1 second, got {}", timeout_seconds));
}

void DistributedSpec::set_master(const std::string& host_port, const std::string& flag) {
  std::tie(master_addr, master_port) = parse_host_port(host_port, flag);
}

DistributedSpec DistributedSpec::from_environment() {
  DistributedSpec spec;
  const ShardSpec ranks = shard_spec("");  // RANK and WORLD_SIZE, checked together
  spec.world_size = ranks.count;
  spec.rank = ranks.rank;
  if (const char* addr = std::getenv("MASTER_ADDR"); addr != nullptr && *addr != '\0') spec.master_addr = addr;
  if (const auto port = integer_variable("MASTER_PORT", 1, 65535)) spec.master_port = *port;
  return spec;
}

struct ProcessGroup::Impl {
  DistributedSpec spec;
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
  std::thread heartbeat;
  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;

  // Why a collective failed, from the store: a rank that recorded its failure, ranks whose
  // heartbeat stopped, or rank 0 gone with the store.
  std::string diagnose() {
    try {
      auto recorded = [&]() -> std::string {
        for (int64_t r = 0; r < spec.world_size; ++r) {
          if (r == spec.rank || !store->check({failure_key(r)})) continue;
          const auto bytes = store->get(failure_key(r));
          return fmt::format("rank {} failed: {}", r, std::string(bytes.begin(), bytes.end()));
        }
        return "";
      };
      if (auto failure = recorded(); !failure.empty()) return failure;
      std::vector<int64_t> before;
      for (int64_t r = 0; r < spec.world_size; ++r) before.push_back(store->add(heartbeat_key(r), 0));
      std::this_thread::sleep_for(kHeartbeatWatch);
      if (auto failure = recorded(); !failure.empty()) return failure;
      std::vector<std::string> silent;
      for (int64_t r = 0; r < spec.world_size; ++r)
        if (r != spec.rank && store->add(heartbeat_key(r), 0) == before[static_cast<size_t>(r)]) silent.push_back(std::to_string(r));
      if (!silent.empty())
        return fmt::format("rank{} {} stopped (killed, or frozen: no heartbeat for {:.1f} s)", silent.size() > 1 ? "s" : "",
                           fmt::join(silent, ", "), std::chrono::duration<double>(kHeartbeatWatch).count());
      return fmt::format("every rank is alive, so one is stuck or far slower than the others (--dist-timeout is {} s)", spec.timeout_seconds);
    } catch (const std::exception&) {
      return fmt::format("rank 0 is gone (the rendezvous store it served at {}:{} does not answer)", spec.master_addr, spec.master_port);
    }
  }

  template <typename F>
  auto guarded(const char* operation, F&& f) -> decltype(f()) {
    try {
      return f();
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      const std::string cause = first_line(e.what());
      throw Error(fmt::format("rank {}: the {} across {} ranks failed: {} ({})", spec.rank, operation, spec.world_size, diagnose(), cause));
    }
  }

  void run(const char* operation, const c10::intrusive_ptr<c10d::Work>& work) {
    guarded(operation, [&] { work->wait(); });
  }
};

ProcessGroup::ProcessGroup(const DistributedSpec& spec) : impl_(std::make_unique<Impl>()), rank_(spec.rank), size_(spec.world_size) {
  spec.validate();
  impl_->spec = spec;
  // A peer's socket closing under a write must be an error, not a SIGPIPE that ends us.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    impl_->store = connect_store(spec, spec.rank == 0, true);
  } catch (const std::exception& e) {
    const std::string cause = first_line(e.what());
    throw Error(fmt::format("rank {}: rendezvous at {}:{} failed: not all {} ranks joined within {} s, or the address is wrong "
                            "(every rank needs the same MASTER_ADDR:MASTER_PORT, which rank 0 serves) ({})",
                            spec.rank, spec.master_addr, spec.master_port, spec.world_size, spec.timeout_seconds, cause));
  }
  auto options = c10d::ProcessGroupGloo::Options::create();
  options->timeout = std::chrono::seconds(spec.timeout_seconds);
  // Loopback for ranks on one machine; otherwise the interface $GLOO_SOCKET_IFNAME names, or
  // the one this host's name resolves to.
  if (const char* interface = std::getenv("GLOO_SOCKET_IFNAME"); interface != nullptr && *interface != '\0')
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface));
  else if (is_loopback(spec.master_addr))
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
  else
    options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  // The heartbeat has a connection of its own (a store client serves one thread at a time),
  // and starts before the Gloo connections, so a rank that never gets that far is told apart.
  auto beat_store = connect_store(spec, false, false);
  impl_->heartbeat = std::thread([impl = impl_.get(), beat_store] {
    std::unique_lock<std::mutex> lock(impl->mutex);
    while (!impl->stopping) {
      lock.unlock();  // a slow store never holds up stop_heartbeat
      try {
        beat_store->add(heartbeat_key(impl->spec.rank), 1);
      } catch (const std::exception&) {
        return;  // the store is gone: rank 0 finished or died, and the collectives will say so
      }
      lock.lock();
      impl->wake.wait_for(lock, kHeartbeatEvery);
    }
  });
  try {
    impl_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(c10::make_intrusive<c10d::PrefixStore>("gloo", impl_->store),
                                                             static_cast<int>(spec.rank), static_cast<int>(spec.world_size), options);
  } catch (const std::exception& e) {
    const std::string cause = first_line(e.what());
    std::vector<std::string> missing;
    try {
      for (int64_t r = 0; r < spec.world_size; ++r)
        if (impl_->store->add(heartbeat_key(r), 0) == 0) missing.push_back(std::to_string(r));
    } catch (const std::exception&) {
      missing = {"0"};
    }
    stop_heartbeat();
    throw Error(fmt::format("rank {}: rendezvous at {}:{} failed: {} within {} s (every rank needs the same WORLD_SIZE and "
                            "MASTER_ADDR:MASTER_PORT) ({})",
                            spec.rank, spec.master_addr, spec.master_port,
                            missing.empty() ? std::string("the ranks could not connect to each other")
                                            : fmt::format("rank{} {} never joined", missing.size() > 1 ? "s" : "", fmt::join(missing, ", ")),
                            spec.timeout_seconds, cause));
  }
}

void ProcessGroup::stop_heartbeat() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->heartbeat.joinable()) impl_->heartbeat.join();
}

ProcessGroup::~ProcessGroup() { stop_heartbeat(); }

void ProcessGroup::all_reduce_sum(std::vector<torch::Tensor>& tensors) {
  // One collective per tensor: c10d reads several tensors of one call as copies of one
  // tensor on several devices, and would sum them together.
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  impl_->guarded("all-reduce", [&] {
    for (auto& tensor : tensors) {
      std::vector<at::Tensor> one{tensor};
      works.push_back(impl_->gloo->allreduce(one));
    }
  });
  for (const auto& work : works) impl_->run("all-reduce", work);
}

std::vector<double> ProcessGroup::sum(const std::vector<double>& values) {
  std::vector<torch::Tensor> packed{torch::tensor(values, torch::kFloat64)};
  all_reduce_sum(packed);
  const auto* data = packed[0].data_ptr<double>();
  return std::vector<double>(data, data + values.size());
}

std::vector<torch::Tensor> ProcessGroup::gather_parts(const torch::Tensor& local) {
  std::vector<std::vector<at::Tensor>> outputs(1);
  for (int64_t r = 0; r < size_; ++r) outputs[0].push_back(torch::empty_like(local, at::MemoryFormat::Contiguous));
  std::vector<at::Tensor> inputs{local.detach().contiguous()};
  impl_->run("all-gather", impl_->guarded("all-gather", [&] { return impl_->gloo->allgather(outputs, inputs); }));
  return outputs[0];
}

torch::Tensor ProcessGroup::all_gather(const torch::Tensor& local) { return torch::cat(gather_parts(local)); }

torch::Tensor ProcessGroup::all_gather_with_local_grad(const torch::Tensor& local) {
  auto parts = gather_parts(local);
  parts[static_cast<size_t>(rank_)] = local;  // the one part backward reaches
  return torch::cat(parts);
}

void ProcessGroup::broadcast(std::vector<torch::Tensor>& tensors, int64_t root) {
  c10d::BroadcastOptions options;
  options.rootRank = root;
  for (auto& tensor : tensors) {
    torch::NoGradGuard no_grad;
    torch::Tensor buffer = tensor.is_contiguous() ? tensor.detach() : tensor.detach().contiguous();
    std::vector<at::Tensor> one{buffer};
    impl_->run("broadcast", impl_->guarded("broadcast", [&] { return impl_->gloo->broadcast(one, options); }));
    if (!buffer.is_same(tensor)) tensor.detach().copy_(buffer);
  }
}

void ProcessGroup::barrier() {
  impl_->run("barrier", impl_->guarded("barrier", [&] { return impl_->gloo->barrier(); }));
}

void ProcessGroup::report_failure(const std::string& message) noexcept {
  try {
    const std::string line = message.substr(0, message.find('\n'));
    impl_->store->set(failure_key(rank_), std::vector<uint8_t>(line.begin(), line.end()));
  } catch (...) {
    // The store is gone: the others find this rank silent instead.
  }
}

// ---- gradient averaging ----

struct GradientReducer::State {
  struct Bucket {
    std::vector<size_t> parameters;
    std::vector<int64_t> offsets;
    torch::Tensor buffer;
    size_t ready = 0;
    c10::intrusive_ptr<c10d::Work> work;
  };
  ProcessGroup* group = nullptr;
  std::vector<torch::Tensor> parameters;
  std::vector<size_t> bucket_of;
  std::vector<bool> arrived;
  std::vector<Bucket> buckets;
  std::vector<unsigned> hooks;
  size_t next_launch = 0;
  bool armed = false;
  int64_t launched_in_backward = 0, overlapped = 0;

  torch::Tensor slot(size_t index) {
    auto& bucket = buckets[bucket_of[index]];
    const auto position = static_cast<size_t>(std::find(bucket.parameters.begin(), bucket.parameters.end(), index) - bucket.parameters.begin());
    return bucket.buffer.narrow(0, bucket.offsets[position], parameters[index].numel());
  }

  // Launches the buckets that are complete, in order from the first not yet launched.
  void launch_ready(bool all) {
    while (next_launch < buckets.size() && (all || buckets[next_launch].ready == buckets[next_launch].parameters.size())) {
      auto& bucket = buckets[next_launch++];
      if (!all) ++launched_in_backward;
      std::vector<at::Tensor> one{bucket.buffer};
      bucket.work = group->impl().guarded("gradient all-reduce", [&] { return group->impl().gloo->allreduce(one); });
    }
  }

  void on_gradient(size_t index, const torch::Tensor& gradient) {
    if (!armed || arrived[index]) return;
    torch::NoGradGuard no_grad;
    auto into = slot(index);
    into.copy_(gradient.reshape(-1));
    // Backward calls this before adding `gradient` to what earlier micro-batches accumulated.
    if (parameters[index].grad().defined()) into.add_(parameters[index].grad().reshape(-1));
    arrived[index] = true;
    ++buckets[bucket_of[index]].ready;
    launch_ready(false);
  }
};

GradientReducer::GradientReducer(ProcessGroup& group, std::vector<torch::Tensor> parameters, int64_t bucket_bytes)
    : state_(std::make_unique<State>()) {
  state_->group = &group;
  for (auto& p : parameters) {
    if (!p.requires_grad()) continue;
    const bool seen = std::any_of(state_->parameters.begin(), state_->parameters.end(),
                                  [&](const torch::Tensor& q) { return q.unsafeGetTensorImpl() == p.unsafeGetTensorImpl(); });
    if (!seen) state_->parameters.push_back(p);
  }
  const size_t n = state_->parameters.size();
  state_->bucket_of.assign(n, 0);
  state_->arrived.assign(n, false);
  // Reverse registration order (the last layers' gradients come first), split by size and by
  // dtype, since a bucket is one flat tensor.
  for (size_t k = n; k-- > 0;) {
    const auto& p = state_->parameters[k];
    auto* bucket = state_->buckets.empty() ? nullptr : &state_->buckets.back();
    const bool fits = bucket != nullptr && bucket->buffer.scalar_type() == p.scalar_type() &&
                      (bucket->buffer.numel() + p.numel()) * p.element_size() <= bucket_bytes;
    if (!fits) {
      state_->buckets.emplace_back();
      bucket = &state_->buckets.back();
      bucket->buffer = torch::zeros({0}, p.options().requires_grad(false));
    }
    bucket->offsets.push_back(bucket->buffer.numel());
    bucket->parameters.push_back(k);
    bucket->buffer = torch::zeros({bucket->buffer.numel() + p.numel()}, p.options().requires_grad(false));
    state_->bucket_of[k] = state_->buckets.size() - 1;
  }
  for (size_t k = 0; k < n; ++k) {
    State* state = state_.get();
    state_->hooks.push_back(state_->parameters[k].register_hook([state, k](torch::Tensor gradient) { state->on_gradient(k, gradient); }));
  }
}

GradientReducer::~GradientReducer() {
  for (size_t k = 0; k < state_->parameters.size(); ++k) state_->parameters[k].remove_hook(state_->hooks[k]);
}

void GradientReducer::arm() { state_->armed = true; }

void GradientReducer::finish() {
  auto& s = *state_;
  if (!s.armed) throw Error("GradientReducer::finish without arm()");
  torch::NoGradGuard no_grad;
  // Parameters without a gradient in this backward contribute what they have (or zeros), so
  // every rank still launches every bucket in the same order.
  for (size_t k = 0; k < s.parameters.size(); ++k) {
    if (s.arrived[k]) continue;
    auto into = s.slot(k);
    if (s.parameters[k].grad().defined())
      into.copy_(s.parameters[k].grad().reshape(-1));
    else
      into.zero_();
  }
  s.launch_ready(true);
  const double ranks = static_cast<double>(s.group->size());
  for (auto& bucket : s.buckets) {
    s.group->impl().run("gradient all-reduce", bucket.work);
    bucket.work.reset();
    bucket.ready = 0;
    bucket.buffer.div_(ranks);
  }
  for (size_t k = 0; k < s.parameters.size(); ++k) {
    auto& p = s.parameters[k];
    auto mean = s.slot(k).view(p.sizes());
    if (p.grad().defined())
      p.mutable_grad().copy_(mean);
    else
      p.mutable_grad() = mean.clone();
  }
  std::fill(s.arrived.begin(), s.arrived.end(), false);
  s.next_launch = 0;
  s.armed = false;
  s.overlapped = s.launched_in_backward;
  s.launched_in_backward = 0;
}

int64_t GradientReducer::overlapped_buckets() const { return state_->overlapped; }
int64_t GradientReducer::buckets() const { return static_cast<int64_t>(state_->buckets.size()); }

}  // namespace garden::train
