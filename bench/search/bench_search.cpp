// bench_search (issue 15): imports N real English documents (man pages rendered to text by
// corpus.sh) through the REAL services — POST /api/v1/jobs/content_import with native KEYWORDS
// and SUMMARY, run by generator-worker — into SQLite and into PostgreSQL, then reports import
// throughput (documents/s), the size of the library and its index, and search latency p50/p99
// over the fixed queries of queries.txt (keywords and phrases), each asked `--rounds` times over
// HTTP. Prints figures; no assertions. Exits 1 when a target of issue 15 is missed (p50 < 5 ms,
// p99 < 50 ms, import >= 200 documents/s).
//
// usage: bench_search [--documents N] [--corpus DIR] [--databases sqlite,postgres]
//                     [--clients N] [--rounds N] [--processes N] [--threads N]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <nlohmann/json.hpp>

#include "gen/core/storage/database.hpp"
#include "harness.hpp"
#include "storage/session.hpp"
#include "test_database.hpp"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace itest = gen::itest;

struct Options {
  int documents = 10000;
  std::string corpus;
  std::vector<std::string> databases{"sqlite", "postgres"};
  int clients = 8;
  int rounds = 10;
  int processes = 2;
  int threads = 2;
};

std::string percent(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
}

struct Result {
  std::string database;
  int imported = 0, failed = 0;
  double import_s = 0;
  double db_bytes = 0, index_bytes = 0, text_bytes = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  std::size_t samples = 0, empty_queries = 0;
};

// Library and index sizes, read from the database itself.
void measure_size(const std::string& url, bool sqlite, Result& r) {
  auto db = gen::Database::open(url, 1);
  gen::DbSession s = db->session();
  using namespace Poco::Data::Keywords;
  if (sqlite) {
    Poco::Int64 pages = 0, page_size = 0;
    s << "PRAGMA page_count", into(pages), now;
    s << "PRAGMA page_size", into(page_size), now;
    r.db_bytes = static_cast<double>(pages * page_size);
    try {  // dbstat: the bytes of the FTS5 index's shadow tables
      Poco::Int64 index = 0;
      s << "SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name LIKE 'content_index%'",
          into(index), now;
      r.index_bytes = static_cast<double>(index);
      Poco::Int64 text = 0;
      s << "SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name LIKE 'content_segments%' OR"
           " name LIKE 'sqlite_autoindex_content_segments%'",
          into(text), now;
      r.text_bytes = static_cast<double>(text);
    } catch (const std::exception&) {
      r.index_bytes = -1;  // SQLite built without dbstat
    }
  } else {
    Poco::Int64 total = 0, index = 0, text = 0;
    s << "SELECT pg_database_size(current_database())", into(total), now;
    s << "SELECT pg_total_relation_size('content_index')", into(index), now;
    s << "SELECT pg_total_relation_size('content_segments')", into(text), now;
    r.db_bytes = static_cast<double>(total);
    r.index_bytes = static_cast<double>(index);
    r.text_bytes = static_cast<double>(text);
  }
}

Result run(const std::string& database, const Options& options, const std::vector<fs::path>& files,
           const std::vector<std::string>& queries) {
  Result result;
  result.database = database;
  std::unique_ptr<gen::test::TestDatabase> pg;
  itest::StackOptions stack_options;
  stack_options.worker = true;
  stack_options.worker_processes = options.processes;
  stack_options.worker_threads = options.threads;
  stack_options.env["LOGGING__LEVEL"] = "error";
  stack_options.env["HOSTING__THREADS"] = "0";
  if (database == "postgres") {
    if (const char* keep = std::getenv("BENCH_SEARCH_POSTGRES_URL")) {
      // An existing (empty) database that outlives the run, to look at its plans afterwards.
      stack_options.env["DATABASE__URL"] = keep;
    } else {
      pg = std::make_unique<gen::test::TestDatabase>("postgres");
      stack_options.env["DATABASE__URL"] = pg->url();
    }
  }
  itest::Stack stack(stack_options);
  const std::string url = database == "postgres"
                              ? stack_options.env["DATABASE__URL"]
                              : "sqlite://" + (stack.dir() / "generator.db").string();

  // Import: `clients` threads submit, then every job is awaited.
  std::vector<std::string> ids(files.size());
  std::atomic<std::size_t> next{0};
  std::atomic<int> refused{0};
  const auto started = Clock::now();
  {
    std::vector<std::thread> clients;
    for (int c = 0; c < options.clients; ++c) {
      clients.emplace_back([&] {
        itest::HttpClient api(stack.port(), itest::kRootApiKey);
        for (std::size_t i = next++; i < files.size(); i = next++) {
          json body = {
              {"content_id", files[i].stem().string()},
              {"field_generation", {{"fields_to_generate", {"KEYWORDS", "SUMMARY"}}}},
              {"inputs", json::array({{{"name", files[i].filename().string()},
                                       {"media_type", "text/plain"},
                                       {"content_base64",
                                        itest::base64_encode(itest::read_file(files[i]))}}})}};
          auto r = api.post_json("/api/v1/jobs/content_import", body);
          if (r.status == 202) {
            ids[i] = r.json_body().value("id", "");
          } else {
            ++refused;
            std::fprintf(stderr, "  refused %s: %d %s\n", files[i].c_str(), r.status,
                         r.body.substr(0, 200).c_str());
          }
        }
      });
    }
    for (auto& t : clients) t.join();
  }
  const double submitted_s = std::chrono::duration<double>(Clock::now() - started).count();
  {
    itest::HttpClient api(stack.port(), itest::kRootApiKey);
    for (const std::string& id : ids) {
      if (id.empty()) continue;
      for (;;) {
        json job = api.get("/api/v1/jobs/" + id).json_body();
        const std::string status = job.value("status", "");
        if (status == "COMPLETED") {
          ++result.imported;
          break;
        }
        if (status == "FAILED" || status == "CANCELLED") {
          if (result.failed++ < 5) {
            std::fprintf(stderr, "  job %s %s: %s\n", id.c_str(), status.c_str(),
                         job["error"].dump().c_str());
          }
          break;
        }
        std::this_thread::sleep_for(20ms);
      }
    }
  }
  result.failed += refused;
  result.import_s = std::chrono::duration<double>(Clock::now() - started).count();
  std::printf("  %-8s submitted %zu imports in %.1f s; all ended after %.1f s\n", database.c_str(),
              files.size(), submitted_s, result.import_s);

  measure_size(url, database == "sqlite", result);
  {
    // Statistics as a live system has them: PostgreSQL's autovacuum analyses a table after
    // 10% of it changed (within a minute); right after a bulk import the planner has none.
    // SQLite: ANALYZE likewise (PRAGMA optimize does it on connections that ran queries).
    auto db = gen::Database::open(url, 1);
    gen::DbSession s = db->session();
    s << "ANALYZE content_index", Poco::Data::Keywords::now;
    s << "ANALYZE content_segments", Poco::Data::Keywords::now;
    s << "ANALYZE content_items", Poco::Data::Keywords::now;
  }

  // Search: each query `rounds` times, over HTTP (one connection per request, as the harness
  // client does), after one warm-up round.
  itest::HttpClient api(stack.port(), itest::kRootApiKey);
  std::vector<double> ms;
  for (int round = 0; round <= options.rounds; ++round) {
    for (const std::string& q : queries) {
      const auto t0 = Clock::now();
      auto r = api.get("/api/v1/search?q=" + percent(q) + "&limit=20");
      const double took = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      if (r.status != 200) {
        std::fprintf(stderr, "  search '%s': %d %s\n", q.c_str(), r.status, r.body.c_str());
        continue;
      }
      if (round == 0) {
        if (r.json_body()["results"].empty()) ++result.empty_queries;
        continue;
      }
      ms.push_back(took);
    }
  }
  result.samples = ms.size();
  result.p50_ms = quantile(ms, 0.5);
  result.p99_ms = quantile(ms, 0.99);
  result.max_ms = ms.empty() ? 0 : *std::max_element(ms.begin(), ms.end());
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  options.corpus = std::string(std::getenv("HOME") ? std::getenv("HOME") : "/tmp") +
                   "/.cache/generator/bench-search/man";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--documents") {
      options.documents = std::atoi(value.c_str());
    } else if (flag == "--corpus") {
      options.corpus = value;
    } else if (flag == "--databases") {
      options.databases.clear();
      std::stringstream in(value);
      for (std::string db; std::getline(in, db, ',');) options.databases.push_back(db);
    } else if (flag == "--clients") {
      options.clients = std::atoi(value.c_str());
    } else if (flag == "--rounds") {
      options.rounds = std::atoi(value.c_str());
    } else if (flag == "--processes") {
      options.processes = std::atoi(value.c_str());
    } else if (flag == "--threads") {
      options.threads = std::atoi(value.c_str());
    } else {
      std::fprintf(stderr,
                   "usage: bench_search [--documents N] [--corpus DIR] [--databases "
                   "sqlite,postgres] [--clients N] [--rounds N] [--processes N] [--threads N]\n");
      return 2;
    }
  }
  const std::string source = GEN_BENCH_SOURCE_DIR;
  const std::string corpus_cmd = "bash '" + source + "/bench/search/corpus.sh' " +
                                 std::to_string(options.documents) + " '" + options.corpus + "'";
  if (std::system(corpus_cmd.c_str()) != 0) {
    std::fprintf(stderr, "bench_search: could not build the corpus\n");
    return 2;
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(options.corpus)) {
    if (entry.path().extension() == ".txt") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  if (static_cast<int>(files.size()) > options.documents) files.resize(options.documents);
  double corpus_bytes = 0;
  for (const auto& f : files) corpus_bytes += static_cast<double>(fs::file_size(f));
  std::vector<std::string> queries;
  {
    std::ifstream in(source + "/bench/search/queries.txt");
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line[0] != '#') queries.push_back(line);
    }
  }
  std::printf(
      "bench_search: %zu man pages (%.1f MB of text) imported with native KEYWORDS + SUMMARY "
      "through the services (%d clients, worker %d x %d); %zu queries x %d rounds; %u cores\n",
      files.size(), corpus_bytes / 1e6, options.clients, options.processes, options.threads,
      queries.size(), options.rounds, std::thread::hardware_concurrency());
  bool missed = false;
  for (const std::string& database : options.databases) {
    Result r = run(database, options, files, queries);
    const double rate = r.import_s > 0 ? r.imported / r.import_s : 0;
    std::printf(
        "  %-8s import %7.1f documents/s (%d ok, %d failed) | database %.1f MB, index %.1f MB, "
        "segments %.1f MB | search p50 %.2f ms  p99 %.2f ms  max %.2f ms (%zu samples; %zu "
        "queries found nothing)\n",
        database.c_str(), rate, r.imported, r.failed, r.db_bytes / 1e6, r.index_bytes / 1e6,
        r.text_bytes / 1e6, r.p50_ms, r.p99_ms, r.max_ms, r.samples, r.empty_queries);
    std::fflush(stdout);
    if (r.p50_ms >= 5 || r.p99_ms >= 50 || rate < 200 || r.failed > 0) missed = true;
  }
  std::printf("  targets (issue 15): search p50 < 5 ms, p99 < 50 ms; import >= 200 documents/s\n");
  return missed ? 1 : 0;
}
