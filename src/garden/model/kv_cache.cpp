#include "garden/model/kv_cache.h"

namespace garden::model {

void KVCache::repeat_batch(int64_t times) {
  if (times == 1) return;
  for (auto& k : keys) k = k.repeat_interleave(times, 0);
  for (auto& v : values) v = v.repeat_interleave(times, 0);
  if (key_real.defined()) key_real = key_real.repeat_interleave(times, 0);
}

}  // namespace garden::model
