#include "test_database.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/Session.h>

using namespace Poco::Data::Keywords;

namespace gen::test {
namespace {

std::atomic<int> g_counter{0};

const char* admin_url() {
  const char* url = std::getenv("GENERATOR_TEST_POSTGRES_URL");
  if (!url || !*url) {
    throw std::runtime_error(
        "GENERATOR_TEST_POSTGRES_URL is not set: run the suite with scripts/test.sh, which "
        "starts PostgreSQL on 127.0.0.1 (scripts/postgres-for-tests.sh)");
  }
  return url;
}

// postgresql://user:pass@host:port/db -> the same URL with another database name.
std::string with_database(const std::string& url, const std::string& db) {
  auto slash = url.find('/', url.find("://") + 3);
  std::string base = slash == std::string::npos ? url : url.substr(0, slash);
  return base + "/" + db;
}

// libpq key=value form for Poco's connector.
std::string to_connect_string(const std::string& url) {
  std::string rest = url.substr(url.find("://") + 3);
  std::string user, pass, host, port, db;
  auto at = rest.rfind('@');
  std::string userinfo = rest.substr(0, at);
  std::string hostpart = rest.substr(at + 1);
  auto colon = userinfo.find(':');
  user = userinfo.substr(0, colon);
  pass = colon == std::string::npos ? "" : userinfo.substr(colon + 1);
  auto slash = hostpart.find('/');
  db = slash == std::string::npos ? "postgres" : hostpart.substr(slash + 1);
  hostpart = hostpart.substr(0, slash);
  auto pcolon = hostpart.rfind(':');
  host = hostpart.substr(0, pcolon);
  port = pcolon == std::string::npos ? "5432" : hostpart.substr(pcolon + 1);
  return "host=" + host + " port=" + port + " user=" + user + " password=" + pass +
         " dbname=" + db;
}

Poco::Data::Session admin_session() {
  Poco::Data::PostgreSQL::Connector::registerConnector();
  return Poco::Data::Session("PostgreSQL", to_connect_string(admin_url()));
}

}  // namespace

TestDatabase::TestDatabase(const std::string& backend) : backend_(backend) {
  int n = g_counter++;
  std::string tag = std::to_string(::getpid()) + "_" + std::to_string(n);
  if (backend == "sqlite") {
    dir_ = (std::filesystem::temp_directory_path() / ("gen-test-db-" + tag)).string();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    url_ = "sqlite://" + dir_ + "/generator.db";
  } else if (backend == "postgres") {
    db_name_ = "gen_test_" + tag;
    Poco::Data::Session s = admin_session();
    s << "DROP DATABASE IF EXISTS " + db_name_, now;
    s << "CREATE DATABASE " + db_name_, now;
    url_ = with_database(admin_url(), db_name_);
  } else {
    throw std::invalid_argument("unknown test backend " + backend);
  }
}

TestDatabase::~TestDatabase() {
  try {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
    if (!db_name_.empty()) {
      Poco::Data::Session s = admin_session();
      s << "DROP DATABASE IF EXISTS " + db_name_ + " WITH (FORCE)", now;
    }
  } catch (...) {
  }
}

}  // namespace gen::test
