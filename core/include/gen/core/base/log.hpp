// Structured logging: one JSON object per line on stderr (journald keeps it), with a level,
// a message and context fields (job_id, task_id, generator, worker ...).
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace gen::log {

enum class Level : int { kDebug = 1, kInfo = 2, kWarning = 3, kError = 4 };

/// Sets the minimum level from its name ("debug", "info", "warning", "error").
void set_level(std::string_view name);
/// Sets the service name put in every line ("backend", "worker").
void set_service(std::string_view name);
bool enabled(Level level);

void write(Level level, std::string_view message,
           const nlohmann::json& fields = nlohmann::json::object());
inline void debug(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  write(Level::kDebug, m, f);
}
inline void info(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  write(Level::kInfo, m, f);
}
inline void warning(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  write(Level::kWarning, m, f);
}
inline void error(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  write(Level::kError, m, f);
}

}  // namespace gen::log
