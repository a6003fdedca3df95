// bench_meta [count]: renders `count` man pages (default 200, spread evenly over the sorted
// list of /usr/share/man/man{1,2,3,5,7,8}) to text once, then times meta.index and
// meta.generate for each native field on every page, one thread, and prints per-step figures
// and the import rate the steps allow (index + KEYWORDS + SUMMARY per document).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gen/sdk/testing.hpp>

#include "document.hpp"
#include "generators.hpp"
#include "lexrank.hpp"
#include "meta_test_support.hpp"
#include "text_model.hpp"
#include "yake.hpp"

namespace {

// The thread's CPU time, not the wall clock: the figures are the work a document costs, which
// other processes on a shared machine do not inflate (throughput on N free cores is N times it).
struct Clock {
  static double now() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
  }
};

double ms_since(double start) {
  return Clock::now() - start;
}

struct Figures {
  std::vector<double> ms;
  std::vector<double> typical_ms;  // pages of 10-60 KB of text
  void add(double value, std::size_t text_bytes) {
    ms.push_back(value);
    if (text_bytes >= 10 * 1024 && text_bytes <= 60 * 1024) typical_ms.push_back(value);
  }
  void print(const char* name) {
    print_one(name, ms);
    print_one("  10-60 KB", typical_ms);
  }
  static void print_one(const char* name, std::vector<double>& ms) {
    if (ms.empty()) return;
    std::sort(ms.begin(), ms.end());
    double sum = 0;
    for (double v : ms) sum += v;
    auto at = [&](double q) { return ms[static_cast<std::size_t>(q * (ms.size() - 1))]; };
    std::printf("%-12s mean %7.3f ms  p50 %7.3f  p90 %7.3f  max %7.3f  (%zu documents)\n", name,
                sum / ms.size(), at(0.5), at(0.9), ms.back(), ms.size());
  }
  static double mean(const std::vector<double>& ms) {
    double sum = 0;
    for (double v : ms) sum += v;
    return ms.empty() ? 0 : sum / ms.size();
  }
};

}  // namespace

int main(int argc, char** argv) {
  const std::size_t count = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 200;
  std::vector<std::string> pages;
  for (const char* section : {"man1", "man2", "man3", "man5", "man7", "man8"}) {
    const std::filesystem::path dir = std::filesystem::path("/usr/share/man") / section;
    if (!std::filesystem::is_directory(dir)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      // Real pages only: a .so link page renders another page's text.
      if (entry.is_regular_file() && entry.path().extension() == ".gz" &&
          entry.file_size() > 1500) {
        pages.push_back(entry.path().string());
      }
    }
  }
  std::sort(pages.begin(), pages.end());
  if (pages.size() < count) {
    std::fprintf(stderr, "only %zu man pages found (is the manpages package installed?)\n",
                 pages.size());
    return 1;
  }
  std::vector<std::string> chosen;
  for (std::size_t i = 0; i < count; ++i) chosen.push_back(pages[i * pages.size() / count]);

  // Render with two threads (man takes ~0.2 s a page); the timing below is single-threaded.
  std::vector<std::string> texts(chosen.size());
  std::vector<std::thread> workers;
  std::mutex errors_mutex;
  std::vector<std::string> errors;
  for (int t = 0; t < 2; ++t) {
    workers.emplace_back([&, t] {
      for (std::size_t i = static_cast<std::size_t>(t); i < chosen.size(); i += 2) {
        try {
          texts[i] = gen::meta::testing::render_man_page(chosen[i]);
        } catch (const std::exception& e) {
          std::lock_guard lock(errors_mutex);
          errors.push_back(e.what());
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  if (!errors.empty()) {
    std::fprintf(stderr, "%s\n", errors.front().c_str());
    return 1;
  }
  std::vector<std::size_t> sizes;
  for (const auto& t : texts) sizes.push_back(t.size());
  std::sort(sizes.begin(), sizes.end());
  std::printf("%zu man pages rendered: text %zu KB median, %zu KB p90, %zu KB max\n", texts.size(),
              sizes[sizes.size() / 2] / 1024, sizes[sizes.size() * 9 / 10] / 1024,
              sizes.back() / 1024);

  gen::meta::IndexGenerator index_generator;
  gen::meta::GenerateGenerator generate_generator;
  const char* fields[] = {"TITLE", "PLUG", "BLURB", "SUMMARY", "KEYWORDS", "QUESTIONS"};
  Figures index_figures;
  std::vector<Figures> field_figures(std::size(fields));
  std::size_t failures = 0;
  for (const std::string& text : texts) {
    const std::string segments = gen::meta::testing::segments_json(text);
    gen::sdk::testing::FakeContext index_ctx;
    index_ctx.add_input("text.json", std::string(gen::meta::kSegmentsMediaType), segments);
    auto start = Clock::now();
    if (!index_ctx.run(index_generator).is_ok()) {
      ++failures;
      continue;
    }
    index_figures.add(ms_since(start), text.size());
    const std::string& index = index_ctx.output_data("index.json");
    for (std::size_t f = 0; f < std::size(fields); ++f) {
      gen::sdk::testing::FakeContext ctx({{"field", fields[f]}});
      ctx.add_input("index.json", std::string(gen::meta::kIndexMediaType), index);
      start = Clock::now();
      const gen::sdk::Status status = ctx.run(generate_generator);
      const double ms = ms_since(start);
      if (status.is_ok()) {
        field_figures[f].add(ms, text.size());
      } else {
        ++failures;  // e.g. a page too short for 5 keywords
      }
    }
  }
  std::printf(
      "CPU time of one thread, each step as the worker runs it (JSON parse and write "
      "included):\n");
  index_figures.print("meta.index");
  for (std::size_t f = 0; f < std::size(fields); ++f) field_figures[f].print(fields[f]);
  for (bool typical : {false, true}) {
    auto mean = [&](const Figures& f) { return Figures::mean(typical ? f.typical_ms : f.ms); };
    const double import_ms = mean(index_figures) + mean(field_figures[3]) + mean(field_figures[4]);
    std::printf(
        "import = index + SUMMARY + KEYWORDS, %s: %.3f ms per document -> %.0f "
        "documents/s per core, %.0f on 2 cores (target >= 200 on 2 cores)\n",
        typical ? "10-60 KB pages" : "all pages", import_ms, 1000.0 / import_ms,
        2000.0 / import_ms);
  }
  std::printf("steps that failed (too little text): %zu\n", failures);

  // Where the time of a 10-60 KB page goes, phase by phase.
  Figures parse_segments, detect, terms, dump, parse_index, model, lexrank, keywords;
  for (const std::string& text : texts) {
    if (text.size() < 10 * 1024 || text.size() > 60 * 1024) continue;
    const std::string segments = gen::meta::testing::segments_json(text);
    gen::meta::Document document;
    auto start = Clock::now();
    (void)gen::meta::parse_document(segments, document);
    parse_segments.add(ms_since(start), text.size());
    start = Clock::now();
    const auto language = gen::analysis::detect_language(gen::meta::joined_text(document));
    detect.add(ms_since(start), text.size());
    start = Clock::now();
    for (std::size_t i = 0; i < document.segments.size(); ++i) {
      document.json["segments"][i]["terms"] =
          gen::analysis::index_terms(language, document.segments[i].text);
    }
    terms.add(ms_since(start), text.size());
    start = Clock::now();
    const std::string index = document.json.dump();
    dump.add(ms_since(start), text.size());
    start = Clock::now();
    (void)gen::meta::parse_document(index, document);
    parse_index.add(ms_since(start), text.size());
    start = Clock::now();
    gen::meta::TextModel text_model(document, language);
    model.add(ms_since(start), text.size());
    start = Clock::now();
    (void)gen::meta::rank_sentences(text_model);
    lexrank.add(ms_since(start), text.size());
    start = Clock::now();
    (void)gen::meta::yake(text_model);
    keywords.add(ms_since(start), text.size());
  }
  std::printf("phases on the 10-60 KB pages:\n");
  Figures::print_one("parse segs", parse_segments.ms);
  Figures::print_one("detect", detect.ms);
  Figures::print_one("index_terms", terms.ms);
  Figures::print_one("dump index", dump.ms);
  Figures::print_one("parse index", parse_index.ms);
  Figures::print_one("TextModel", model.ms);
  Figures::print_one("LexRank", lexrank.ms);
  Figures::print_one("YAKE", keywords.ms);
  return 0;
}
