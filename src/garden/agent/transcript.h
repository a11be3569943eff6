// The agent's append-only transcript (agent-design.md, "Persistence"): one JSON object a line,
// {id, parent_id, ts, session, type, payload, tokens}, written with a single write and fsync'd
// before the loop goes on, so a crash loses at most the event being written. Replaying reads
// whole lines only: a last line cut by a kill is skipped (and cut off when the file is opened
// for appending again), a malformed line anywhere else is an error naming file:line.
// Permissions are never written here as grants, so a resumed session asks again.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "garden/agent/messages.h"
#include "garden/core/json.h"

namespace garden::agent {

// user | system | assistant | tool_call | tool_result | permission | compaction | error | stop
struct Event {
  int64_t id = 0, parent_id = 0;  // parent 0: the first event
  std::string ts, session, type;
  Json payload;
  int64_t tokens = 0;
  Json to_json() const;
  static Event from_json(const Json& j);
};

class Transcript {
 public:
  // Opens `path` for appending (creating it and its folder); ids continue after its last event.
  Transcript(std::filesystem::path path, std::string session);
  ~Transcript();
  Transcript(const Transcript&) = delete;
  Transcript& operator=(const Transcript&) = delete;

  const Event& append(const std::string& type, Json payload, int64_t tokens = 0);
  const std::vector<Event>& events() const { return events_; }
  const std::filesystem::path& path() const { return path_; }

  static std::vector<Event> replay(const std::filesystem::path& path);

 private:
  std::filesystem::path path_;
  std::string session_;
  int fd_ = -1;
  std::vector<Event> events_;
};

// The messages a session's loop saw, rebuilt from the transcript's system, user, assistant and
// tool_result events in order (pinned marks kept), to resume it; permission events are history,
// not grants, so a resumed session asks again.
std::vector<Message> replay_history(const std::filesystem::path& path);

}  // namespace garden::agent
