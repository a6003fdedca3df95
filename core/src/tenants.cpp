#include "gen/core/tenants.hpp"

#include <algorithm>
#include <cctype>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>

#include "gen/core/database.hpp"
#include "gen/core/errors.hpp"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Session;
using Poco::Data::Statement;

namespace gen {
namespace {

constexpr std::size_t kMaxTenantIdBytes = 64;

std::string str(const RecordSet& rs, std::size_t col, std::size_t row) {
  Poco::Dynamic::Var v = rs.value(col, row);
  return v.isEmpty() ? std::string() : v.convert<std::string>();
}

std::int64_t i64(const RecordSet& rs, std::size_t col, std::size_t row) {
  Poco::Dynamic::Var v = rs.value(col, row);
  return v.isEmpty() ? 0 : v.convert<Poco::Int64>();
}

std::optional<std::int64_t> opt_i64(const RecordSet& rs, std::size_t col, std::size_t row) {
  if (rs.value(col, row).isEmpty()) return std::nullopt;
  return i64(rs, col, row);
}

Tenant tenant_from(const RecordSet& rs, std::size_t row) {
  return Tenant{str(rs, 0, row), i64(rs, 1, row) != 0, i64(rs, 2, row), i64(rs, 3, row)};
}

}  // namespace

void TenantStore::check_id(const std::string& id, const std::string& field) {
  bool ok = !id.empty() && id.size() <= kMaxTenantIdBytes &&
            std::all_of(id.begin(), id.end(), [](unsigned char c) {
              return std::isalnum(c) || c == '-' || c == '_' || c == '.';
            });
  if (!ok) {
    throw Error(
        ErrorCode::kValidationFailed,
        field + ": a tenant id is 1 to 64 letters, digits, '-', '_' or '.'; got '" + id + "'",
        field);
  }
}

Tenant TenantStore::create(const std::string& id, bool enabled) {
  check_id(id, "id");
  Tenant t{id, enabled, now_ms(), 0};
  t.updated_at_ms = t.created_at_ms;
  db_.write_transaction([&](Session& s) {
    std::string v = id;
    int n = 0;
    s << db_.sql("SELECT COUNT(*) FROM tenants WHERE id = ?"), use(v), into(n), now;
    if (n > 0) throw Error(ErrorCode::kConflict, "a tenant with id '" + id + "' exists", "id");
    int e = enabled ? 1 : 0;
    Poco::Int64 at = t.created_at_ms;
    s << db_.sql(
        "INSERT INTO tenants (id, enabled, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?)"),
        use(v), use(e), use(at), use(at), now;
  });
  return t;
}

std::vector<Tenant> TenantStore::list() {
  Session s = db_.session();
  Statement st(s);
  st << "SELECT id, enabled, created_at_ms, updated_at_ms FROM tenants ORDER BY id";
  st.execute();
  RecordSet rs(st);
  std::vector<Tenant> out;
  for (std::size_t r = 0; r < rs.rowCount(); ++r) out.push_back(tenant_from(rs, r));
  return out;
}

std::optional<Tenant> TenantStore::get(const std::string& id) {
  Session s = db_.session();
  Statement st(s);
  std::string v = id;
  st << db_.sql("SELECT id, enabled, created_at_ms, updated_at_ms FROM tenants WHERE id = ?"),
      use(v);
  st.execute();
  RecordSet rs(st);
  if (rs.rowCount() == 0) return std::nullopt;
  return tenant_from(rs, 0);
}

std::optional<Tenant> TenantStore::set_enabled(const std::string& id, bool enabled) {
  std::string v = id;
  int e = enabled ? 1 : 0;
  Poco::Int64 at = now_ms();
  db_.write_transaction([&](Session& s) {
    s << db_.sql("UPDATE tenants SET enabled = ?, updated_at_ms = ? WHERE id = ?"), use(e), use(at),
        use(v), now;
  });
  return get(id);
}

bool TenantStore::remove(const std::string& id) {
  bool found = false;
  db_.write_transaction([&](Session& s) {
    std::string v = id;
    int n = 0;
    s << db_.sql("SELECT COUNT(*) FROM tenants WHERE id = ?"), use(v), into(n), now;
    found = n > 0;
    s << db_.sql("DELETE FROM config_values WHERE tenant = ?"), use(v), now;
    s << db_.sql("DELETE FROM tenants WHERE id = ?"), use(v), now;
  });
  return found;
}

JobPage list_tenant_jobs(Database& db, const std::string& tenant, const std::string& status,
                         int limit, const std::string& cursor) {
  limit = std::clamp(limit, 1, 1000);
  Poco::Int64 cursor_ms = 0;
  std::string cursor_id;
  if (!cursor.empty()) {
    auto sep = cursor.find('_');
    bool ok = sep != std::string::npos && sep > 0;
    if (ok) {
      try {
        std::size_t used = 0;
        cursor_ms = std::stoll(cursor.substr(0, sep), &used);
        ok = used == sep;
      } catch (const std::exception&) {
        ok = false;
      }
    }
    if (!ok) throw Error(ErrorCode::kValidationFailed, "malformed cursor", "cursor");
    cursor_id = cursor.substr(sep + 1);
  }
  std::string sql =
      "SELECT id, tenant, status, priority, step_count, error, error_code, created_at_ms,"
      " updated_at_ms, started_at_ms, finished_at_ms FROM jobs WHERE tenant = ?";
  if (!status.empty()) sql += " AND status = ?";
  if (!cursor.empty()) sql += " AND (created_at_ms < ? OR (created_at_ms = ? AND id < ?))";
  sql += " ORDER BY created_at_ms DESC, id DESC LIMIT ?";
  Session s = db.session();
  Statement st(s);
  st << db.sql(sql);
  std::string tenant_v = tenant, status_v = status;
  st, use(tenant_v);
  if (!status.empty()) st, use(status_v);
  if (!cursor.empty()) st, use(cursor_ms), use(cursor_ms), use(cursor_id);
  int fetch = limit + 1;
  st, use(fetch);
  st.execute();
  RecordSet rs(st);
  JobPage page;
  for (std::size_t r = 0; r < rs.rowCount() && r < static_cast<std::size_t>(limit); ++r) {
    JobView j;
    j.id = str(rs, 0, r);
    j.tenant = str(rs, 1, r);
    j.status = str(rs, 2, r);
    j.priority = static_cast<int>(i64(rs, 3, r));
    j.step_count = static_cast<int>(i64(rs, 4, r));
    j.error = str(rs, 5, r);
    j.error_code = str(rs, 6, r);
    j.created_at_ms = i64(rs, 7, r);
    j.updated_at_ms = i64(rs, 8, r);
    j.started_at_ms = opt_i64(rs, 9, r);
    j.finished_at_ms = opt_i64(rs, 10, r);
    page.jobs.push_back(std::move(j));
  }
  if (rs.rowCount() > static_cast<std::size_t>(limit)) {
    const JobView& last = page.jobs.back();
    page.next = std::to_string(last.created_at_ms) + "_" + last.id;
  }
  return page;
}

}  // namespace gen
