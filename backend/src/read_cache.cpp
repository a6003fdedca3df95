#include "read_cache.hpp"

#include "gen/core/base/log.hpp"
#include "gen/core/storage/database.hpp"

namespace gen::backend {

ReadCache::ReadCache(Database& db) : db_(db) {
  watcher_ = std::thread([this] { watch(); });
}

ReadCache::~ReadCache() {
  {
    std::lock_guard lock(stop_mutex_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  watcher_.join();
}

template <typename V>
std::optional<V> ReadCache::cached(Map<V>& map, const std::string& key,
                                   const std::function<std::optional<V>()>& load) {
  if (!usable_.load()) return load();
  {
    std::lock_guard lock(map.mutex);
    if (auto it = map.entries.find(key); it != map.entries.end()) return it->second;
  }
  const std::uint64_t epoch = map.epoch.load();
  std::optional<V> value = load();
  if (value) put(map, key, *value, epoch);
  return value;
}

template <typename V>
void ReadCache::put(Map<V>& map, const std::string& key, V value, std::uint64_t epoch) {
  if (!usable_.load()) return;
  std::lock_guard lock(map.mutex);
  if (map.epoch.load() != epoch) return;  // dropped while it was being loaded: maybe stale
  if (map.entries.size() >= kMaxEntries) map.entries.clear();
  map.entries.insert_or_assign(key, std::move(value));
}

std::optional<Credential> ReadCache::credential(
    const std::string& key, const std::function<std::optional<Credential>()>& load) {
  return cached(credentials_, key, load);
}

std::optional<Tenant> ReadCache::tenant(const std::string& id,
                                        const std::function<std::optional<Tenant>()>& load) {
  return cached(tenants_, id, load);
}

std::optional<ReadCache::JobBody> ReadCache::finished_job(const std::string& id) {
  if (!usable_.load()) return std::nullopt;
  std::lock_guard lock(jobs_.mutex);
  if (auto it = jobs_.entries.find(id); it != jobs_.entries.end()) return it->second;
  return std::nullopt;
}

void ReadCache::store_finished_job(const std::string& id, JobBody value, std::uint64_t epoch) {
  put(jobs_, id, std::move(value), epoch);
}

void ReadCache::drop_auth() {
  credentials_.drop();
  tenants_.drop();
}

void ReadCache::drop_jobs() {
  jobs_.drop();
}

void ReadCache::watch() {
  bool warned = false;
  for (;;) {
    {
      std::unique_lock lock(stop_mutex_);
      if (stop_cv_.wait_for(lock, kPollInterval, [this] { return stop_; })) return;
    }
    std::map<std::string, std::int64_t> now_seen;
    try {
      now_seen = db_.change_counters();
      warned = false;
    } catch (const std::exception& e) {
      // Unknown changes: serve nothing from cache until the counters are readable again.
      usable_ = false;
      drop_auth();
      drop_jobs();
      seen_.clear();
      if (!warned)
        log::warning("read caches off: cannot read change counters", {{"error", e.what()}});
      warned = true;
      continue;
    }
    if (!usable_.load() || now_seen["auth"] != seen_["auth"]) drop_auth();
    if (!usable_.load() || now_seen["jobs_deleted"] != seen_["jobs_deleted"]) drop_jobs();
    seen_ = std::move(now_seen);
    usable_ = true;
  }
}

}  // namespace gen::backend
