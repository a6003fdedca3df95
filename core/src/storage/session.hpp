// SQL on core's database: the session type behind Database::session(), read() and
// write_transaction(), and the one translation of driver errors into gen::Error. Private to
// core/src (and white-box tests through gen::core_internals); public headers name DbSession
// only as an opaque type, so Poco::Data stays a private dependency of core.
#pragma once

#include <utility>

#include <Poco/Data/Session.h>
#include <Poco/Exception.h>

#include "gen/core/base/errors.hpp"
#include "gen/core/storage/database.hpp"

namespace gen {

/// A pooled Poco session. It is a Poco::Data::Session: statements are written as usual
/// (`s << db.sql("...") , use(x), into(y), now;`).
class DbSession : public Poco::Data::Session {
 public:
  explicit DbSession(Poco::Data::Session session) : Poco::Data::Session(std::move(session)) {}
};

/// A driver error as core reports it: kDatabaseUnavailable with the server's own words
/// (Poco's what() is only the class name). Retryable, so the worker retries and the REST
/// edge answers 503.
inline Error database_error(const Poco::Exception& e) {
  return Error(ErrorCode::kDatabaseUnavailable, "database error: " + e.displayText());
}

}  // namespace gen
