#include "garden/model/kv_cache.h"

namespace garden::model {

void KVCache::repeat_batch(int64_t times) {
  if (times == 1) return;
  for (auto& k : keys) k = k.repeat_interleave(times, 0);
  for (auto& v : values) v = v.repeat_interleave(times, 0);
  if (key_real.defined()) key_real = key_real.repeat_interleave(times, 0);
}

void KVCache::select_rows(const torch::Tensor& rows) {
  for (auto& k : keys) k = k.index_select(0, rows.to(k.device()));
  for (auto& v : values) v = v.index_select(0, rows.to(v.device()));
  if (key_real.defined()) key_real = key_real.index_select(0, rows.to(key_real.device()));
}

}  // namespace garden::model
