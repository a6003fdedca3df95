// The backend's /metrics: HTTP request metrics kept in a prometheus-cpp Registry (count,
// latency, request and response sizes by method, route template and status class; requests
// in flight), plus what is read at scrape time: process_* metrics from /proc/self,
// generator_build_info, plugin states and the queue metrics of the task table (see
// gen/core/metrics.hpp and docs/monitoring.md).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace gen {
class Database;
class PluginHost;
}  // namespace gen

namespace gen::backend {

struct Response;

class HttpMetrics {
 public:
  /// Request and process metrics only.
  HttpMetrics();
  /// Also plugin states (from `plugins`) and the queue metrics (from `db`, cached 1 s).
  /// Both must outlive the metrics.
  HttpMetrics(Database& db, const PluginHost& plugins);
  ~HttpMetrics();
  HttpMetrics(const HttpMetrics&) = delete;
  HttpMetrics& operator=(const HttpMetrics&) = delete;

  /// A request arrived (generator_http_requests_in_flight + 1). Thread-safe.
  void begin();
  /// The request was answered (in flight - 1). `route` is the matched pattern (or
  /// "unmatched"), so label cardinality stays bounded; the status is labelled by class
  /// ("2xx"). Thread-safe and cheap: the label set's series are looked up once.
  void observe(std::string_view method, const std::string& route, int status, double seconds,
               std::size_t request_bytes, std::size_t response_bytes);
  /// A content search took `seconds` (generator_content_search_duration_seconds). Thread-safe.
  void observe_search(double seconds);
  /// The exposition text (Content-Type gen::metrics::kContentType).
  std::string render() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// GET /ready's response from a readiness report: 200 when ready, else 503, JSON body.
Response ready_response(bool ready, std::string json_body);

}  // namespace gen::backend
