#include "gen/backend/metrics.hpp"

#include <array>
#include <chrono>
#include <sstream>

namespace gen::backend {
namespace {

constexpr std::array<double, 12> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                            0.1,   0.25,   0.5,   1.0,  2.5,   10.0};

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

HttpMetrics::HttpMetrics()
    : start_time_s_(std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count()) {}

void HttpMetrics::observe(const std::string& method, const std::string& route, int status,
                          double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{method, route, status}];
  Histogram& h = durations_[{method, route}];
  if (h.buckets.empty()) h.buckets.assign(kBounds.size(), 0);
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    if (seconds <= kBounds[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

std::string HttpMetrics::render() const {
  std::lock_guard lock(mutex_);
  std::ostringstream out;
  out << "# HELP generator_backend_start_time_seconds Start time of the process since the Unix "
         "epoch.\n# TYPE generator_backend_start_time_seconds gauge\n"
      << "generator_backend_start_time_seconds " << start_time_s_ << "\n";
  out << "# HELP generator_http_requests_total HTTP requests handled, by method, route and "
         "status.\n# TYPE generator_http_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    const auto& [method, route, status] = key;
    out << "generator_http_requests_total{method=\"" << escape_label(method) << "\",route=\""
        << escape_label(route) << "\",status=\"" << status << "\"} " << count << "\n";
  }
  out << "# HELP generator_http_request_duration_seconds Time to handle a request, by method "
         "and route.\n# TYPE generator_http_request_duration_seconds histogram\n";
  for (const auto& [key, h] : durations_) {
    std::string labels =
        "method=\"" + escape_label(key.first) + "\",route=\"" + escape_label(key.second) + "\"";
    for (std::size_t i = 0; i < kBounds.size(); ++i) {
      out << "generator_http_request_duration_seconds_bucket{" << labels << ",le=\"" << kBounds[i]
          << "\"} " << h.buckets[i] << "\n";
    }
    out << "generator_http_request_duration_seconds_bucket{" << labels << ",le=\"+Inf\"} "
        << h.count << "\n";
    out << "generator_http_request_duration_seconds_sum{" << labels << "} " << h.sum << "\n";
    out << "generator_http_request_duration_seconds_count{" << labels << "} " << h.count << "\n";
  }
  return out.str();
}

}  // namespace gen::backend
