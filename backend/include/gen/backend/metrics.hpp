// Request metrics of the backend in the Prometheus text format (GET /metrics): request
// counts by method, route and status, and a latency histogram by method and route.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace gen::backend {

class HttpMetrics {
 public:
  HttpMetrics();
  /// Thread-safe. `route` is the matched pattern, so label cardinality stays bounded.
  void observe(const std::string& method, const std::string& route, int status, double seconds);
  /// The exposition text (text/plain; version=0.0.4).
  std::string render() const;

 private:
  struct Histogram {
    std::vector<std::uint64_t> buckets;  ///< cumulative counts per upper bound
    std::uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;
  std::map<std::pair<std::string, std::string>, Histogram> durations_;
  std::int64_t start_time_s_;
};

}  // namespace gen::backend
