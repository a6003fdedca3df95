#include "gen/core/base/log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

namespace gen::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::mutex g_mutex;
std::string g_service = "generator";

const char* level_name(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarning:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "info";
}

std::string timestamp() {
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t t = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}
}  // namespace

void set_level(std::string_view name) {
  Level l = Level::kInfo;
  if (name == "debug") l = Level::kDebug;
  if (name == "warning") l = Level::kWarning;
  if (name == "error") l = Level::kError;
  g_level = static_cast<int>(l);
}

void set_service(std::string_view name) {
  std::lock_guard lock(g_mutex);
  g_service = name;
}

bool enabled(Level level) {
  return static_cast<int>(level) >= g_level.load();
}

void write(Level level, std::string_view message, const nlohmann::json& fields) {
  if (!enabled(level)) return;
  nlohmann::json line = nlohmann::json::object();
  line["ts"] = timestamp();
  line["level"] = level_name(level);
  {
    std::lock_guard lock(g_mutex);
    line["service"] = g_service;
  }
  line["pid"] = static_cast<long>(::getpid());
  line["msg"] = std::string(message);
  if (fields.is_object()) {
    for (auto it = fields.begin(); it != fields.end(); ++it) line[it.key()] = it.value();
  }
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard lock(g_mutex);
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

}  // namespace gen::log
