// garden launch: the local ranks of a data-parallel command (core/launcher.h).
#include <cstdlib>

#include "garden/cli/common.h"
#include "garden/core/launcher.h"

namespace garden::cli {

void register_launch(CLI::App& app) {
  struct LaunchCommand {
    LaunchOptions options;
    std::vector<std::string> command;
  };
  auto cmd = std::make_shared<LaunchCommand>();
  auto* launch = app.add_subcommand("launch", "run a command as N data-parallel ranks on this machine (as torchrun does): garden launch --nproc 2 -- lm train ...");
  launch->add_option("--nproc", cmd->options.nproc, "ranks on this machine")->capture_default_str();
  launch->add_option("--nnodes", cmd->options.nnodes, "machines, each running its own garden launch")->capture_default_str();
  launch->add_option("--node-rank", cmd->options.node_rank, "this machine's index among them")->capture_default_str();
  launch->add_option("--master", cmd->options.master, "HOST:PORT of node 0 (default: loopback and a free port, one machine)");
  launch->add_option("--grace", cmd->options.grace_seconds, "seconds the other ranks get to stop after one fails, before SIGTERM")
      ->capture_default_str();
  launch->add_option("command", cmd->command, "the garden command after --, e.g. -- lm train --steps 100")->required();
  launch->callback([cmd] {
    const int status = launch_local_ranks(cmd->options, cmd->command);
    if (status != 0) std::exit(status);
  });
}

}  // namespace garden::cli
