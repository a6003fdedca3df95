# Third-party dependencies, all from Debian 12 packages (scripts/bootstrap.sh installs them).
find_package(Threads REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(Qt6 6.2 REQUIRED COMPONENTS Core)

# Debian's PocoDataPostgreSQL config expects a PostgreSQL::client target; define it first.
find_package(PostgreSQL REQUIRED)
if(NOT TARGET PostgreSQL::client)
  add_library(PostgreSQL::client INTERFACE IMPORTED)
  target_link_libraries(PostgreSQL::client INTERFACE PostgreSQL::PostgreSQL)
endif()
find_package(Poco 1.11 REQUIRED COMPONENTS Foundation Net Util Data DataSQLite DataPostgreSQL)
