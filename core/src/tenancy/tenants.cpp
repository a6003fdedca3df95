#include "gen/core/tenancy/tenants.hpp"

#include <algorithm>
#include <cctype>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>

#include "gen/core/base/clock.hpp"
#include "gen/core/base/errors.hpp"
#include "gen/core/storage/database.hpp"
#include "storage/record_values.hpp"
#include "storage/session.hpp"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Session;
using Poco::Data::Statement;

namespace gen {
namespace {

constexpr std::size_t kMaxTenantIdBytes = 64;

using rows::i64;
using rows::str;

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
  std::vector<Tenant> out;
  db_.read([&](Session& s) {
    Statement st(s);
    st << "SELECT id, enabled, created_at_ms, updated_at_ms FROM tenants ORDER BY id";
    st.execute();
    RecordSet rs(st);
    for (std::size_t r = 0; r < rs.rowCount(); ++r) out.push_back(tenant_from(rs, r));
  });
  return out;
}

std::optional<Tenant> TenantStore::get(const std::string& id) {
  std::optional<Tenant> found;
  db_.read([&](Session& s) {
    Statement st(s);
    std::string v = id;
    st << db_.sql("SELECT id, enabled, created_at_ms, updated_at_ms FROM tenants WHERE id = ?"),
        use(v);
    st.execute();
    RecordSet rs(st);
    if (rs.rowCount() > 0) found = tenant_from(rs, 0);
  });
  return found;
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

}  // namespace gen
