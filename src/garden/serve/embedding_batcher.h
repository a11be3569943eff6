// Batches the embedding requests of concurrent clients into shared forward passes. A request
// hands in its token rows and blocks; one worker thread takes the queued requests in arrival
// order, waiting at most `max_wait` after the first one for others to join, up to `max_rows`
// rows a pass (a larger request runs alone), encodes them in one call and hands each
// request its rows back. An error of the encoder is rethrown to every request of that pass.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace garden::serve {

using Rows = std::vector<std::vector<int64_t>>;
using Vectors = std::vector<std::vector<float>>;

class EmbeddingBatcher {
 public:
  using Encode = std::function<Vectors(const Rows&)>;
  EmbeddingBatcher(Encode encode, int64_t max_rows, std::chrono::milliseconds max_wait);
  // Finishes the queued requests, then stops the worker.
  ~EmbeddingBatcher();
  EmbeddingBatcher(const EmbeddingBatcher&) = delete;
  EmbeddingBatcher& operator=(const EmbeddingBatcher&) = delete;

  // The vectors of `rows`, in order; blocks until its pass is done.
  Vectors embed(Rows rows);
  // Forward passes run so far.
  int64_t passes() const;

 private:
  struct Pending {
    Rows rows;
    std::promise<Vectors> result;
    std::chrono::steady_clock::time_point arrived;
  };
  void work();

  Encode encode_;
  int64_t max_rows_;
  std::chrono::milliseconds max_wait_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  int64_t queued_rows_ = 0, passes_ = 0;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace garden::serve
