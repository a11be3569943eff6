#include "garden/serve/embedding_batcher.h"

#include <exception>

namespace garden::serve {

EmbeddingBatcher::EmbeddingBatcher(Encode encode, int64_t max_rows, std::chrono::milliseconds max_wait)
    : encode_(std::move(encode)), max_rows_(std::max<int64_t>(1, max_rows)), max_wait_(max_wait), worker_([this] { work(); }) {}

EmbeddingBatcher::~EmbeddingBatcher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

Vectors EmbeddingBatcher::embed(Rows rows) {
  std::future<Vectors> result;
  {
    std::lock_guard lock(mutex_);
    queued_rows_ += static_cast<int64_t>(rows.size());
    queue_.push_back(Pending{std::move(rows), {}, std::chrono::steady_clock::now()});
    result = queue_.back().result.get_future();
  }
  wake_.notify_all();
  return result.get();
}

int64_t EmbeddingBatcher::passes() const {
  std::lock_guard lock(mutex_);
  return passes_;
}

void EmbeddingBatcher::work() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left
    // Wait for company until the first request has waited max_wait or a pass is full.
    const auto deadline = queue_.front().arrived + max_wait_;
    wake_.wait_until(lock, deadline, [&] { return stopping_ || queued_rows_ >= max_rows_; });
    std::vector<Pending> pass;
    int64_t rows = 0;
    while (!queue_.empty() && (pass.empty() || rows + static_cast<int64_t>(queue_.front().rows.size()) <= max_rows_)) {
      rows += static_cast<int64_t>(queue_.front().rows.size());
      pass.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    queued_rows_ -= rows;
    ++passes_;
    lock.unlock();
    Rows all;
    for (auto& p : pass)
      for (auto& row : p.rows) all.push_back(std::move(row));
    try {
      Vectors vectors = encode_(all);
      size_t at = 0;
      for (auto& p : pass) {
        Vectors mine(std::make_move_iterator(vectors.begin() + static_cast<std::ptrdiff_t>(at)),
                     std::make_move_iterator(vectors.begin() + static_cast<std::ptrdiff_t>(at + p.rows.size())));
        at += p.rows.size();
        p.result.set_value(std::move(mine));
      }
    } catch (...) {
      for (auto& p : pass) p.result.set_exception(std::current_exception());
    }
    lock.lock();
  }
}

}  // namespace garden::serve
