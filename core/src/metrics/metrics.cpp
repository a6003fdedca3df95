#include "gen/core/metrics/metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

#include <prometheus/text_serializer.h>
#include <gen/sdk/generator.hpp>

#include "gen/core/base/text.hpp"
#include "gen/core/plugins/plugin_host.hpp"

namespace gen::metrics {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {};
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The kernel's boot time (seconds since the epoch), from /proc/stat's btime line.
double boot_time_seconds() {
  static const double boot = [] {
    std::istringstream in(slurp("/proc/stat"));
    std::string key;
    double value = 0;
    while (in >> key) {
      if (key == "btime") {
        in >> value;
        return value;
      }
      in.ignore(1 << 20, '\n');
    }
    return 0.0;
  }();
  return boot;
}

// Soft "Max open files" of another process, from /proc/<pid>/limits.
double max_fds_of(const std::string& dir) {
  std::istringstream in(slurp(dir + "/limits"));
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("Max open files")) continue;
    std::istringstream fields(line.substr(std::string_view("Max open files").size()));
    std::string soft;
    fields >> soft;
    if (soft == "unlimited") return 0;
    try {
      return std::stod(soft);
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

}  // namespace

const std::vector<double>& latency_buckets() {
  static const std::vector<double> b = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                        0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
  return b;
}

const std::vector<double>& task_buckets() {
  static const std::vector<double> b = {0.01, 0.025, 0.05, 0.1,  0.25,  0.5,   1.0,   2.5,
                                        5.0,  10.0,  30.0, 60.0, 300.0, 900.0, 3600.0};
  return b;
}

const std::vector<double>& size_buckets() {
  static const std::vector<double> b = {128,    1024,    8192,     65536,
                                        524288, 4194304, 16777216, 67108864};
  return b;
}

bool is_forwarded_header(std::string_view name) {
  return istarts_with(name, "x-forwarded-") || iequals(name, "forwarded") ||
         iequals(name, "x-real-ip") || iequals(name, "via");
}

std::string serialize(const std::vector<prometheus::MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

prometheus::MetricFamily family(std::string name, std::string help, prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void add_value(prometheus::MetricFamily& family, const Labels& labels, double value) {
  prometheus::ClientMetric m;
  for (const auto& [name, v] : labels) m.label.push_back({name, v});
  switch (family.type) {
    case prometheus::MetricType::Counter:
      m.counter.value = value;
      break;
    case prometheus::MetricType::Gauge:
      m.gauge.value = value;
      break;
    default:
      m.untyped.value = value;
      break;
  }
  family.metric.push_back(std::move(m));
}

void add_histogram(prometheus::MetricFamily& family, const Labels& labels,
                   const std::vector<double>& bounds, const std::vector<std::uint64_t>& cumulative,
                   std::uint64_t count, double sum) {
  prometheus::ClientMetric m;
  for (const auto& [name, v] : labels) m.label.push_back({name, v});
  for (std::size_t i = 0; i < bounds.size() && i < cumulative.size(); ++i) {
    m.histogram.bucket.push_back({cumulative[i], bounds[i]});
  }
  m.histogram.bucket.push_back({count, std::numeric_limits<double>::infinity()});
  m.histogram.sample_count = count;
  m.histogram.sample_sum = sum;
  family.metric.push_back(std::move(m));
}

std::optional<ProcessStats> read_process_stats(pid_t pid) {
  const std::string dir = pid == 0 ? "/proc/self" : "/proc/" + std::to_string(pid);
  const std::string stat = slurp(dir + "/stat");
  // The command name (field 2) is in parentheses and may contain anything: parse after it.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream in(stat.substr(close + 2));
  std::vector<std::string> f((std::istream_iterator<std::string>(in)),
                             std::istream_iterator<std::string>());
  // f[0] is field 3 (state); field n is f[n - 3].
  if (f.size() < 22) return std::nullopt;
  static const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  static const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  ProcessStats s;
  try {
    s.cpu_seconds = (std::stod(f[14 - 3]) + std::stod(f[15 - 3])) / ticks;
    s.threads = std::stod(f[20 - 3]);
    s.start_time_seconds = boot_time_seconds() + std::stod(f[22 - 3]) / ticks;
    s.virtual_memory_bytes = std::stod(f[23 - 3]);
    s.resident_memory_bytes = std::stod(f[24 - 3]) * page;
  } catch (...) {
    return std::nullopt;
  }
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++s.open_fds;
  }
  if (pid == 0) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
      s.max_fds = static_cast<double>(limit.rlim_cur);
    }
  } else {
    s.max_fds = max_fds_of(dir);
  }
  return s;
}

void append_process_metrics(std::vector<prometheus::MetricFamily>& out, const ProcessStats& stats) {
  using prometheus::MetricType;
  auto one = [&](const char* name, const char* help, MetricType type, double value) {
    auto f = family(name, help, type);
    add_value(f, {}, value);
    out.push_back(std::move(f));
  };
  one("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
      MetricType::Counter, stats.cpu_seconds);
  one("process_open_fds", "Number of open file descriptors.", MetricType::Gauge, stats.open_fds);
  one("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge,
      stats.max_fds);
  one("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge,
      stats.virtual_memory_bytes);
  one("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge,
      stats.resident_memory_bytes);
  one("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
      MetricType::Gauge, stats.start_time_seconds);
  one("process_threads", "Number of OS threads in the process.", MetricType::Gauge, stats.threads);
}

prometheus::MetricFamily build_info(std::string_view service) {
  auto f =
      family("generator_build_info", "Always 1; the labels say which build and service this is.",
             prometheus::MetricType::Gauge);
  add_value(f,
            {{"service", std::string(service)},
             {"version", GENERATOR_VERSION},
             {"sdk_abi", std::to_string(GEN_SDK_ABI_VERSION)}},
            1);
  return f;
}

void append_plugin_metrics(std::vector<prometheus::MetricFamily>& out, const PluginHost& plugins) {
  auto states = family("generator_plugins", "Plugin modules found, by load state.",
                       prometheus::MetricType::Gauge);
  for (PluginState state : {PluginState::kLoaded, PluginState::kInvalid, PluginState::kIncompatible,
                            PluginState::kFailed}) {
    double n = 0;
    for (const PluginRecord& p : plugins.plugins()) n += p.state == state ? 1 : 0;
    add_value(states, {{"state", std::string(to_string(state))}}, n);
  }
  out.push_back(std::move(states));
  auto generators =
      family("generator_generators_available", "Generators offered by the loaded plugins.",
             prometheus::MetricType::Gauge);
  add_value(generators, {}, static_cast<double>(plugins.generators().size()));
  out.push_back(std::move(generators));
}

}  // namespace gen::metrics
