#include "garden/core/launcher.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <thread>
#include <tuple>

#include "garden/core/error.h"
#include "garden/core/shard.h"

extern char** environ;

namespace garden {

namespace {

std::atomic<int> g_forward_signal{0};

void remember_signal(int signal) { g_forward_signal = signal; }

// A port the kernel reports free on loopback now; rank 0 binds it a moment later.
int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(fmt::format("launch: cannot open a socket: {}", std::strerror(errno)));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  if (!ok) throw Error(fmt::format("launch: cannot find a free port: {}", std::strerror(errno)));
  return ntohs(address.sin_port);
}

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return "ended";
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

void LaunchOptions::validate() const {
  if (nproc < 1 || nproc > kMaxRanks) usage_error(fmt::format("--nproc must be in 1..{}, got {}", kMaxRanks, nproc));
  if (nnodes < 1 || nnodes * nproc > kMaxRanks) usage_error(fmt::format("--nnodes must be >= 1 with at most {} ranks in all, got {}", kMaxRanks, nnodes));
  if (node_rank < 0 || node_rank >= nnodes) usage_error(fmt::format("--node-rank must be in 0..{}, got {}", nnodes - 1, node_rank));
  if (nnodes > 1 && master.empty()) usage_error("--nnodes above 1 needs --master HOST:PORT (node 0's address, the same on every node)");
  if (grace_seconds < 0) usage_error(fmt::format("--grace must be >= 0 seconds, got {}", grace_seconds));
}

int launch_local_ranks(const LaunchOptions& options, const std::vector<std::string>& garden_arguments) {
  options.validate();
  if (garden_arguments.empty()) usage_error("launch: give the garden command to run after --, e.g. garden launch --nproc 2 -- lm train");
  std::string host = "127.0.0.1";
  int64_t port = 0;
  if (options.master.empty())
    port = free_loopback_port();
  else
    std::tie(host, port) = parse_host_port(options.master, "--master");
  const int64_t world = options.nnodes * options.nproc;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const std::string threads = std::to_string(std::max<int64_t>(1, static_cast<int64_t>(cores) / options.nproc));

  // "garden launch -- garden lm train" and "garden launch -- lm train" run the same command.
  std::vector<std::string> arguments = garden_arguments;
  if (arguments.front() == "garden") arguments.erase(arguments.begin());
  if (arguments.empty()) usage_error("launch: give the garden command to run after --");
  std::vector<char> self(4096);
  const ssize_t length = ::readlink("/proc/self/exe", self.data(), self.size() - 1);
  if (length <= 0) throw Error(fmt::format("launch: cannot find the garden binary: {}", std::strerror(errno)));
  const std::string binary(self.data(), static_cast<size_t>(length));

  struct sigaction forward {};
  forward.sa_handler = remember_signal;
  sigemptyset(&forward.sa_mask);
  struct sigaction old_int {}, old_term {};
  sigaction(SIGINT, &forward, &old_int);
  sigaction(SIGTERM, &forward, &old_term);

  std::map<pid_t, int64_t> running;  // pid -> global rank
  auto kill_all = [&](int signal) {
    for (const auto& [pid, rank] : running) ::kill(pid, signal);
  };
  for (int64_t local = 0; local < options.nproc; ++local) {
    const int64_t rank = options.node_rank * options.nproc + local;
    std::map<std::string, std::string> variables{{"WORLD_SIZE", std::to_string(world)},
                                                 {"RANK", std::to_string(rank)},
                                                 {"LOCAL_RANK", std::to_string(local)},
                                                 {"LOCAL_WORLD_SIZE", std::to_string(options.nproc)},
                                                 {"MASTER_ADDR", host},
                                                 {"MASTER_PORT", std::to_string(port)}};
    std::vector<std::string> environment;
    bool threads_given = false;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string entry = *e;
      const std::string name = entry.substr(0, entry.find('='));
      if (variables.count(name)) continue;
      threads_given = threads_given || name == "OMP_NUM_THREADS";
      environment.push_back(entry);
    }
    for (const auto& [name, value] : variables) environment.push_back(name + "=" + value);
    if (!threads_given) environment.push_back("OMP_NUM_THREADS=" + threads);
    std::vector<char*> envp, argv;
    for (auto& entry : environment) envp.push_back(entry.data());
    envp.push_back(nullptr);
    std::string program = binary;
    argv.push_back(program.data());
    for (auto& argument : arguments) argv.push_back(argument.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    if (const int error = ::posix_spawn(&pid, binary.c_str(), nullptr, nullptr, argv.data(), envp.data()); error != 0) {
      kill_all(SIGKILL);
      throw Error(fmt::format("launch: cannot start rank {}: {}", rank, std::strerror(error)));
    }
    running[pid] = rank;
  }

  using Clock = std::chrono::steady_clock;
  int result = 0;
  std::optional<Clock::time_point> stop_by;  // set when a rank failed
  bool terminated = false, killed = false;
  while (!running.empty()) {
    if (const int signal = g_forward_signal.exchange(0); signal != 0) kill_all(signal);
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0 && running.count(pid)) {
      const int64_t rank = running[pid];
      running.erase(pid);
      const bool failed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
      if (failed && result == 0) {
        result = exit_code(status);
        fmt::print(stderr, "launch: rank {} (pid {}) {}{}\n", rank, pid, describe_exit(status),
                   running.empty() ? std::string()
                                   : fmt::format("; the other ranks have {} s to stop", options.grace_seconds));
        stop_by = Clock::now() + std::chrono::seconds(options.grace_seconds);
      }
      continue;
    }
    if (pid < 0 && errno != EINTR) break;  // no children left to wait for
    if (stop_by && !terminated && Clock::now() >= *stop_by) {
      fmt::print(stderr, "launch: stopping the ranks still running ({}) with SIGTERM\n", running.size());
      kill_all(SIGTERM);
      terminated = true;
      stop_by = Clock::now() + std::chrono::seconds(5);
    } else if (stop_by && terminated && !killed && Clock::now() >= *stop_by) {
      kill_all(SIGKILL);
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return result;
}

}  // namespace garden
