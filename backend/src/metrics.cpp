#include "gen/backend/metrics.hpp"

#include <array>
#include <shared_mutex>
#include <unordered_map>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "gen/backend/http.hpp"
#include "gen/core/metrics/metrics.hpp"

namespace gen::backend {
namespace {

// Methods outside this list are labelled "OTHER": a client cannot add label values.
std::string_view method_label(std::string_view method) {
  static constexpr std::array<std::string_view, 9> kKnown = {
      "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"};
  for (std::string_view m : kKnown) {
    if (m == method) return m;
  }
  return "OTHER";
}

std::string status_class(int status) {
  if (status < 100 || status > 599) return "other";
  return std::to_string(status / 100) + "xx";
}

}  // namespace

struct HttpMetrics::Impl {
  struct Series {
    prometheus::Counter* requests;
    prometheus::Histogram* duration;
    prometheus::Histogram* request_size;
    prometheus::Histogram* response_size;
  };

  Impl()
      : registry(std::make_shared<prometheus::Registry>()),
        requests(prometheus::BuildCounter()
                     .Name("generator_http_requests_total")
                     .Help("HTTP requests answered, by method, route template and status class.")
                     .Register(*registry)),
        duration(prometheus::BuildHistogram()
                     .Name("generator_http_request_duration_seconds")
                     .Help("Time from reading a request to writing its response, by method, route "
                           "template and status class.")
                     .Register(*registry)),
        request_size(prometheus::BuildHistogram()
                         .Name("generator_http_request_size_bytes")
                         .Help("Request body sizes, by method, route template and status class.")
                         .Register(*registry)),
        response_size(prometheus::BuildHistogram()
                          .Name("generator_http_response_size_bytes")
                          .Help("Response body sizes, by method, route template and status class.")
                          .Register(*registry)),
        in_flight(prometheus::BuildGauge()
                      .Name("generator_http_requests_in_flight")
                      .Help("Requests being handled right now.")
                      .Register(*registry)
                      .Add({})),
        search_duration(prometheus::BuildHistogram()
                            .Name("generator_content_search_duration_seconds")
                            .Help("Time the content library took to answer a search.")
                            .Register(*registry)
                            .Add({}, metrics::latency_buckets())) {}

  Series& series(std::string_view method, const std::string& route, int status) {
    std::string cls = status_class(status);
    std::string key;
    key.reserve(method.size() + route.size() + cls.size() + 2);
    key.append(method).append(1, '\n').append(route).append(1, '\n').append(cls);
    {
      std::shared_lock lock(mutex);
      if (auto it = by_key.find(key); it != by_key.end()) return it->second;
    }
    std::unique_lock lock(mutex);
    if (auto it = by_key.find(key); it != by_key.end()) return it->second;
    std::map<std::string, std::string> labels = {
        {"method", std::string(method)}, {"route", route}, {"status", cls}};
    Series s{&requests.Add(labels), &duration.Add(labels, metrics::latency_buckets()),
             &request_size.Add(labels, metrics::size_buckets()),
             &response_size.Add(labels, metrics::size_buckets())};
    return by_key.emplace(std::move(key), s).first->second;
  }

  std::shared_ptr<prometheus::Registry> registry;
  prometheus::Family<prometheus::Counter>& requests;
  prometheus::Family<prometheus::Histogram>& duration;
  prometheus::Family<prometheus::Histogram>& request_size;
  prometheus::Family<prometheus::Histogram>& response_size;
  prometheus::Gauge& in_flight;
  prometheus::Histogram& search_duration;

  std::shared_mutex mutex;
  std::unordered_map<std::string, Series> by_key;

  const PluginHost* plugins = nullptr;
  std::unique_ptr<metrics::QueueStats> queue;
};

HttpMetrics::HttpMetrics() : impl_(std::make_unique<Impl>()) {}

HttpMetrics::HttpMetrics(Database& db, const PluginHost& plugins) : HttpMetrics() {
  impl_->plugins = &plugins;
  impl_->queue = std::make_unique<metrics::QueueStats>(db);
}

HttpMetrics::~HttpMetrics() = default;

void HttpMetrics::begin() {
  impl_->in_flight.Increment();
}

void HttpMetrics::observe_search(double seconds) {
  impl_->search_duration.Observe(seconds);
}

void HttpMetrics::observe(std::string_view method, const std::string& route, int status,
                          double seconds, std::size_t request_bytes, std::size_t response_bytes) {
  impl_->in_flight.Decrement();
  Impl::Series& s = impl_->series(method_label(method), route, status);
  s.requests->Increment();
  s.duration->Observe(seconds);
  s.request_size->Observe(static_cast<double>(request_bytes));
  s.response_size->Observe(static_cast<double>(response_bytes));
}

std::string HttpMetrics::render() const {
  std::vector<prometheus::MetricFamily> families = impl_->registry->Collect();
  families.push_back(metrics::build_info("backend"));
  if (auto stats = metrics::read_process_stats()) metrics::append_process_metrics(families, *stats);
  if (impl_->plugins) metrics::append_plugin_metrics(families, *impl_->plugins);
  if (impl_->queue) impl_->queue->append_to(families);
  return metrics::serialize(families);
}

Response ready_response(bool ready, std::string json_body) {
  Response r;
  r.status = ready ? 200 : 503;
  r.body = std::move(json_body);
  r.headers["Cache-Control"] = "no-store";
  return r;
}

}  // namespace gen::backend
