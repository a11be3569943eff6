#include "garden/agent/transcript.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include "garden/core/error.h"

namespace garden::agent {

namespace fs = std::filesystem;

Json Event::to_json() const {
  return {{"id", id}, {"parent_id", parent_id}, {"ts", ts}, {"session", session}, {"type", type}, {"payload", payload}, {"tokens", tokens}};
}

Event Event::from_json(const Json& j) {
  Event e;
  e.id = j.at("id").get<int64_t>();
  e.parent_id = j.at("parent_id").get<int64_t>();
  e.ts = j.at("ts").get<std::string>();
  e.session = j.at("session").get<std::string>();
  e.type = j.at("type").get<std::string>();
  e.payload = j.at("payload");
  e.tokens = j.value("tokens", int64_t{0});
  return e;
}

namespace {

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const auto t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buf, ms);
}

// The whole lines of the file and the byte offset after the last one.
std::vector<std::string> whole_lines(const fs::path& path, size_t* end_of_whole) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> lines;
  *end_of_whole = 0;
  if (!in) return lines;
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  size_t start = 0;
  for (size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  *end_of_whole = start;
  return lines;
}

}  // namespace

std::vector<Event> Transcript::replay(const fs::path& path) {
  if (!fs::exists(path)) throw Error(path.string() + ": no such transcript");
  size_t end = 0;
  std::vector<Event> events;
  int64_t line_number = 0;
  for (const auto& line : whole_lines(path, &end)) {
    ++line_number;
    if (line.empty()) continue;
    try {
      events.push_back(Event::from_json(Json::parse(line)));
    } catch (const std::exception& e) {
      throw Error(fmt::format("{}:{}: not a transcript event ({})", path.string(), line_number, e.what()));
    }
  }
  return events;
}

Transcript::Transcript(fs::path path, std::string session) : path_(std::move(path)), session_(std::move(session)) {
  if (path_.has_parent_path()) fs::create_directories(path_.parent_path());
  if (fs::exists(path_)) {
    events_ = replay(path_);
    size_t end = 0;
    whole_lines(path_, &end);
    // A last line cut by a kill never became an event: drop it so the next event starts a line.
    // Only a cut event is dropped (events start with {"id":); any other unterminated text means
    // the file is not a transcript, and it is left as it is.
    if (end < fs::file_size(path_)) {
      std::ifstream in(path_, std::ios::binary);
      in.seekg(static_cast<std::streamoff>(end));
      std::string tail(6, '\0');
      in.read(tail.data(), 6);
      tail.resize(static_cast<size_t>(in.gcount()));
      if (tail.empty() || std::string("{\"id\":").compare(0, tail.size(), tail) != 0)
        throw Error(fmt::format("{}: its last line is neither an event nor a cut one; not a transcript", path_.string()));
      fs::resize_file(path_, end);
    }
  }
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error(fmt::format("{}: cannot open the transcript: {}", path_.string(), std::strerror(errno)));
}

Transcript::~Transcript() {
  if (fd_ >= 0) ::close(fd_);
}

const Event& Transcript::append(const std::string& type, Json payload, int64_t tokens) {
  Event e;
  e.id = events_.empty() ? 1 : events_.back().id + 1;
  e.parent_id = events_.empty() ? 0 : events_.back().id;
  e.ts = utc_now();
  e.session = session_;
  e.type = type;
  e.payload = std::move(payload);
  e.tokens = tokens;
  const std::string line = e.to_json().dump() + "\n";
  // One write per event: O_APPEND places it whole at the end; a kill can only cut its tail.
  size_t written = 0;
  while (written < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(fmt::format("{}: cannot append to the transcript: {}", path_.string(), std::strerror(errno)));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd_) != 0) throw Error(fmt::format("{}: fsync failed: {}", path_.string(), std::strerror(errno)));
  events_.push_back(std::move(e));
  return events_.back();
}

std::vector<Message> replay_history(const fs::path& path) {
  std::vector<Message> history;
  for (const auto& e : Transcript::replay(path)) {
    if (e.type == "system" || e.type == "user") {
      history.push_back({e.payload.value("role", e.type), e.payload.value("content", std::string()), {}, ""});
      history.back().pinned = e.payload.value("pinned", false);
    } else if (e.type == "assistant") {
      history.push_back(parse_assistant_message(e.payload));
      for (auto& call : history.back().tool_calls) call.error.clear();
    } else if (e.type == "tool_result") {
      const bool error = e.payload.value("error", false);
      const std::string content = e.payload.value("content", std::string());
      history.push_back({"tool", error ? "error: " + content : content, {}, e.payload.value("id", std::string())});
    }
  }
  return history;
}

}  // namespace garden::agent
