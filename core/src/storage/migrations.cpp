// Reads the embedded migration files. A file holds statements separated by blank lines;
// lines starting with "--" are comments, as is the rest of a line after "  -- ". Statements
// carry no trailing semicolon (a trigger's or a function's body keeps its own).
#include "storage/migrations.hpp"

#include <sstream>
#include <utility>

namespace gen::storage {
namespace {

struct MigrationFile {
  int version;
  const char* text;
};

// {version, text} of every file under migrations/, oldest first (generated).
constexpr MigrationFile kFiles[] = {
#include "storage/migration_files.inc"
};

std::vector<std::string> statements_of(const std::string& text) {
  std::vector<std::string> out;
  std::string statement;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (auto comment = line.find("  -- "); comment != std::string::npos) line.erase(comment);
    if (line.starts_with("--")) continue;
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      if (!statement.empty()) out.push_back(std::exchange(statement, std::string()));
      continue;
    }
    if (!statement.empty()) statement += '\n';
    statement += line;
  }
  if (!statement.empty()) out.push_back(std::move(statement));
  return out;
}

}  // namespace

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> list = [] {
    std::vector<Migration> all;
    for (const MigrationFile& f : kFiles) all.push_back({f.version, statements_of(f.text)});
    return all;
  }();
  return list;
}

}  // namespace gen::storage
