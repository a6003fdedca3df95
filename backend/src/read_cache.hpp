// Read caches of one backend process for the requests every client repeats: the credential
// behind an API key or token, tenants, and the view of a finished job (which no longer
// changes). Without them each status poll costs several database round trips.
//
// Correctness: triggers bump `change_counters` ('auth' on any write to credentials, api_keys
// or tenants; 'jobs_deleted' when jobs are deleted), whoever writes (another backend,
// generatorctl). A watcher thread reads the counters every kPollInterval and drops a cache
// whose counter moved; this process's own writes drop it at once. When the counters cannot
// be read, nothing is served from cache until they can. Entries loaded while a drop happened
// are not stored (epochs), so a stale value cannot slip in. Misses (unknown keys, missing
// jobs) are never cached.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "gen/core/tenancy/auth.hpp"
#include "gen/core/tenancy/tenants.hpp"

namespace gen {
class Database;
}

namespace gen::backend {

class ReadCache {
 public:
  static constexpr std::chrono::milliseconds kPollInterval{200};
  static constexpr std::size_t kMaxEntries = 20000;  ///< per cache; then it starts over

  /// Starts the watcher thread on `db` (which must outlive the cache).
  explicit ReadCache(Database& db);
  ~ReadCache();
  ReadCache(const ReadCache&) = delete;
  ReadCache& operator=(const ReadCache&) = delete;

  /// The credential of an API key (by its hash) or of a token's credential id, loading it
  /// with `load` on a miss.
  std::optional<Credential> credential(const std::string& key,
                                       const std::function<std::optional<Credential>()>& load);
  std::optional<Tenant> tenant(const std::string& id,
                               const std::function<std::optional<Tenant>()>& load);

  struct JobBody {
    std::string tenant;
    std::string body;
  };
  std::optional<JobBody> finished_job(const std::string& id);
  /// Stores the answer for a finished job; `epoch` is jobs_epoch() read before loading it.
  void store_finished_job(const std::string& id, JobBody value, std::uint64_t epoch);
  std::uint64_t jobs_epoch() const { return jobs_.epoch.load(); }

  /// This process changed credentials, keys or tenants / deleted jobs.
  void drop_auth();
  void drop_jobs();

 private:
  template <typename V>
  struct Map {
    std::mutex mutex;
    std::unordered_map<std::string, V> entries;
    std::atomic<std::uint64_t> epoch{0};
    void drop() {
      std::lock_guard lock(mutex);
      entries.clear();
      ++epoch;
    }
  };
  template <typename V>
  std::optional<V> cached(Map<V>& map, const std::string& key,
                          const std::function<std::optional<V>()>& load);
  template <typename V>
  void put(Map<V>& map, const std::string& key, V value, std::uint64_t epoch);
  void watch();

  Database& db_;
  std::atomic<bool> usable_{false};  ///< false until the counters were read, and while unreadable
  Map<Credential> credentials_;
  Map<Tenant> tenants_;
  Map<JobBody> jobs_;
  std::map<std::string, std::int64_t> seen_;  ///< the watcher's last counters
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread watcher_;
};

}  // namespace gen::backend
