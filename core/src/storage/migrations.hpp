// The schema migrations, one SQL file each in migrations/ (NNNN_name.sql, embedded at build
// time by core/CMakeLists.txt). Private to core/src/storage.
#pragma once

#include <string>
#include <vector>

namespace gen::storage {

struct Migration {
  int version;
  /// Ready to run as written, except: "{BLOB}" stands for the dialect's binary type, and a
  /// statement prefixed "sqlite:" or "postgresql:" runs on that dialect only.
  std::vector<std::string> statements;
};

/// Every migration, oldest first.
const std::vector<Migration>& migrations();

}  // namespace gen::storage
