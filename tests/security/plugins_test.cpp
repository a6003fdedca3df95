// Issue 13, attacks on the generators themselves (items 2b, 7, 8, 9, 10): hostile Markdown,
// Mustache templates and PDFs run in-process. Each run happens in a forked child with a
// bounded wait and a cap on its address space, so today's crash, hang or memory blow-up
// shows as a failed assertion instead of taking the suite (or the machine) down. The child
// reports the run's Status and how far its resident memory rose (VmHWM, reset at the start).
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>
#include <qpdf/QPDFPageObjectHelper.hh>
#include <qpdf/QPDFWriter.hh>

#include <gen/sdk/generator.hpp>

#include "render_generator.hpp"
#include "sanitizers.hpp"
#include "toolkit.hpp"

namespace {

using gen::sdk::Status;
using Clock = std::chrono::steady_clock;

constexpr long long kMiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------
// A context whose cancelled() turns true at a deadline, as the worker's does.

class DeadlineContext final : public gen::sdk::Context {
 public:
  explicit DeadlineContext(nlohmann::json params,
                           std::chrono::milliseconds limit = std::chrono::minutes(5))
      : params_(std::move(params)), deadline_(Clock::now() + limit) {}

  void add_input(std::string name, std::string media_type, std::string data) {
    storage_.push_back(std::make_unique<std::string>(std::move(data)));
    inputs_.push_back({std::move(name), std::move(media_type), *storage_.back()});
  }

  const nlohmann::json& params() const override { return params_; }
  const std::vector<gen::sdk::InputArtifact>& inputs() const override { return inputs_; }
  void write_output(std::string_view name, std::string_view, std::string_view data) override {
    outputs[std::string(name)] = std::string(data);
  }
  void progress(double) override {}
  bool cancelled() const override { return Clock::now() >= deadline_; }
  void log(gen::sdk::LogLevel, std::string_view) override {}
  std::optional<std::string> setting(std::string_view) const override { return std::nullopt; }
  std::string_view job_id() const override { return "job-security"; }
  std::string_view task_id() const override { return "task-security"; }
  int attempt() const override { return 1; }

  std::map<std::string, std::string> outputs;

 private:
  nlohmann::json params_;
  Clock::time_point deadline_;
  std::vector<std::unique_ptr<std::string>> storage_;
  std::vector<gen::sdk::InputArtifact> inputs_;
};

// ---------------------------------------------------------------------------------------
// Running a generator in a child process.

long status_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::strlen(field) + 1));
  }
  return 0;
}

struct ChildRun {
  bool finished = false;  ///< the child reported back before the wait ran out
  bool crashed = false;   ///< the child died without reporting (signal, abort)
  Status::Kind kind = Status::Kind::kRetryable;
  std::string message;
  long peak_growth_mb = 0;  ///< VmHWM at the end minus VmRSS at the start
  double seconds = 0;       ///< how long the run took in the child
  std::string describe() const {
    return std::string(finished  ? "finished"
                       : crashed ? "crashed"
                                 : "no answer in time") +
           ", kind " + std::to_string(static_cast<int>(kind)) + ", " + message + ", +" +
           std::to_string(peak_growth_mb) + " MB, " + std::to_string(seconds) + " s";
  }
};

/// Prints what a run cost (the figures quoted in the docs come from these lines).
void report(const ChildRun& run) {
  std::printf("[  figures ] %s\n", run.describe().c_str());
}

/// Runs `body` in a forked child with its address space capped at what it has plus
/// `extra_bytes`; waits at most `wait`, then kills it.
ChildRun fork_and_wait(const std::function<Status()>& body, std::chrono::seconds wait,
                       long long extra_bytes) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    const long long vm = static_cast<long long>(status_kb("VmSize:")) * 1024;
    rlimit limit{static_cast<rlim_t>(vm + extra_bytes), static_cast<rlim_t>(vm + extra_bytes)};
    setrlimit(RLIMIT_AS, &limit);
    {
      std::ofstream clear("/proc/self/clear_refs");
      clear << "5";  // resets VmHWM to the current RSS
    }
    const long start_kb = status_kb("VmRSS:");
    const Clock::time_point started = Clock::now();
    std::string report;
    try {
      const Status status = body();
      const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
      report = std::to_string(static_cast<int>(status.kind())) + "\n" +
               std::to_string((status_kb("VmHWM:") - start_kb) / 1024) + "\n" +
               std::to_string(seconds) + "\n" + status.message();
    } catch (const std::exception& e) {
      report = "0\n0\n0\nthrew: " + std::string(e.what());
    }
    const char* p = report.data();
    size_t left = report.size();
    while (left > 0) {
      const ssize_t n = write(fds[1], p, left);
      if (n <= 0) break;
      p += n;
      left -= static_cast<size_t>(n);
    }
    _exit(0);
  }
  close(fds[1]);
  ChildRun run;
  std::string report;
  const Clock::time_point until = Clock::now() + wait;
  bool eof = false;
  while (!eof) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) break;
    pollfd pfd{fds[0], POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(left)) <= 0) continue;
    char buffer[4096];
    const ssize_t n = read(fds[0], buffer, sizeof buffer);
    if (n <= 0) {
      eof = true;
    } else {
      report.append(buffer, static_cast<size_t>(n));
    }
  }
  close(fds[0]);
  if (!eof) kill(pid, SIGKILL);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  if (!eof) return run;
  if (report.empty()) {
    run.crashed = true;
    run.message = WIFSIGNALED(wstatus) ? "killed by signal " + std::to_string(WTERMSIG(wstatus))
                                       : "exited " + std::to_string(WEXITSTATUS(wstatus));
    return run;
  }
  run.finished = true;
  size_t a = report.find('\n');
  size_t b = report.find('\n', a + 1);
  size_t c = report.find('\n', b + 1);
  run.kind = static_cast<Status::Kind>(std::stoi(report.substr(0, a)));
  run.peak_growth_mb = std::stol(report.substr(a + 1, b - a - 1));
  run.seconds = std::stod(report.substr(b + 1, c - b - 1));
  run.message = report.substr(c + 1);
  return run;
}

/// Runs `body` in a forked child (fork_and_wait) and prints the run's figures.
ChildRun run_in_child(const std::function<Status()>& body, std::chrono::seconds wait,
                      long long extra_bytes = 3 * 1024 * kMiB) {
  ChildRun run = fork_and_wait(body, wait, extra_bytes);
  report(run);
  return run;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---------------------------------------------------------------------------------------
// Hostile PDFs, made with QPDF.

/// A zlib stream that inflates to `mebibytes` MiB of zero bytes, about 1/1000 of that in
/// size, made in milliseconds: one 1 MiB chunk is deflated with a full flush (byte-aligned,
/// no reference to what came before), and that output repeated; the Adler-32 of n zero bytes
/// is (n mod 65521) << 16 | 1.
std::string zero_bomb(long long mebibytes) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY);
  std::string zeros(kMiB, '\0');
  std::string chunk(kMiB, '\0');
  z.next_in = reinterpret_cast<Bytef*>(zeros.data());
  z.avail_in = static_cast<uInt>(zeros.size());
  z.next_out = reinterpret_cast<Bytef*>(chunk.data());
  z.avail_out = static_cast<uInt>(chunk.size());
  deflate(&z, Z_FULL_FLUSH);
  chunk.resize(chunk.size() - z.avail_out);
  deflateEnd(&z);
  std::string out = "\x78\xda";
  out.reserve(2 + chunk.size() * static_cast<size_t>(mebibytes) + 8);
  for (long long i = 0; i < mebibytes; ++i) out += chunk;
  out += std::string("\x03\x00", 2);  // an empty final block (fixed Huffman)
  const unsigned long long n = static_cast<unsigned long long>(mebibytes) * kMiB;
  const unsigned adler = static_cast<unsigned>((n % 65521) << 16 | 1);
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((adler >> shift) & 0xFF);
  return out;
}

std::string write_memory(QPDF& pdf) {
  QPDFWriter writer(pdf);
  writer.setOutputMemory();
  writer.setCompressStreams(false);
  writer.setDecodeLevel(qpdf_dl_none);
  writer.write();
  auto buffer = writer.getBufferSharedPointer();
  return std::string(reinterpret_cast<const char*>(buffer->getBuffer()), buffer->getSize());
}

QPDFObjectHandle add_page(QPDF& pdf, QPDFObjectHandle contents, QPDFObjectHandle resources) {
  QPDFObjectHandle page = QPDFObjectHandle::parse("<< /Type /Page /MediaBox [0 0 612 792] >>");
  page.replaceKey("/Contents", contents);
  page.replaceKey("/Resources", resources);
  QPDFPageDocumentHelper(pdf).addPage(QPDFPageObjectHelper(pdf.makeIndirectObject(page)), false);
  return page;
}

/// One page whose content stream is a flate bomb of `mebibytes` MiB (zeros are whitespace
/// to the content-stream parser, so the page is valid and blank).
std::string flate_bomb_pdf(long long mebibytes) {
  QPDF pdf;
  pdf.emptyPDF();
  QPDFObjectHandle contents = QPDFObjectHandle::newStream(&pdf);
  contents.replaceStreamData(zero_bomb(mebibytes), QPDFObjectHandle::newName("/FlateDecode"),
                             QPDFObjectHandle::newNull());
  add_page(pdf, contents, QPDFObjectHandle::newDictionary());
  return write_memory(pdf);
}

/// One page whose content stream is filtered [/FlateDecode /FlateDecode] and inflates to
/// `mebibytes` MiB: about a millionth of that in size.
std::string double_flate_bomb_pdf(long long mebibytes) {
  const std::string once = zero_bomb(mebibytes);
  uLongf size = compressBound(static_cast<uLong>(once.size()));
  std::string twice(size, '\0');
  compress2(reinterpret_cast<Bytef*>(twice.data()), &size,
            reinterpret_cast<const Bytef*>(once.data()), static_cast<uLong>(once.size()), 9);
  twice.resize(size);
  QPDF pdf;
  pdf.emptyPDF();
  QPDFObjectHandle contents = QPDFObjectHandle::newStream(&pdf);
  contents.replaceStreamData(twice, QPDFObjectHandle::parse("[/FlateDecode /FlateDecode]"),
                             QPDFObjectHandle::newNull());
  add_page(pdf, contents, QPDFObjectHandle::newDictionary());
  return write_memory(pdf);
}

/// One page drawing, `draws` times, a form XObject whose content holds `mebibytes` MiB of
/// path operators (Flate-compressed: the file stays small).
std::string slow_form_pdf(long long mebibytes, int draws) {
  const std::string line = "10 10 m 20 20 l S\n";
  std::string content;
  content.reserve(static_cast<size_t>(mebibytes * kMiB) + line.size());
  while (content.size() < static_cast<size_t>(mebibytes * kMiB)) content += line;
  uLongf size = compressBound(static_cast<uLong>(content.size()));
  std::string deflated(size, '\0');
  compress2(reinterpret_cast<Bytef*>(deflated.data()), &size,
            reinterpret_cast<const Bytef*>(content.data()), static_cast<uLong>(content.size()), 1);
  deflated.resize(size);
  QPDF pdf;
  pdf.emptyPDF();
  QPDFObjectHandle form = QPDFObjectHandle::newStream(&pdf);
  form.replaceStreamData(deflated, QPDFObjectHandle::newName("/FlateDecode"),
                         QPDFObjectHandle::newNull());
  QPDFObjectHandle dict = form.getDict();
  dict.replaceKey("/Type", QPDFObjectHandle::newName("/XObject"));
  dict.replaceKey("/Subtype", QPDFObjectHandle::newName("/Form"));
  dict.replaceKey("/BBox", QPDFObjectHandle::parse("[0 0 100 100]"));
  std::string page_content;
  for (int i = 0; i < draws; ++i) page_content += "/X Do\n";
  QPDFObjectHandle resources = QPDFObjectHandle::newDictionary();
  QPDFObjectHandle xobjects = QPDFObjectHandle::newDictionary();
  xobjects.replaceKey("/X", form);
  resources.replaceKey("/XObject", xobjects);
  add_page(pdf, QPDFObjectHandle::newStream(&pdf, page_content), resources);
  return write_memory(pdf);
}

/// One page drawing form X0 `fanout` times; form Xk draws X(k+1) `fanout` times; the last
/// shows a word. No cycle, tiny file, fanout^depth form invocations.
std::string xobject_fanout_pdf(int depth, int fanout) {
  QPDF pdf;
  pdf.emptyPDF();
  std::string draws;
  for (int i = 0; i < fanout; ++i) draws += "/X Do\n";
  QPDFObjectHandle font = pdf.makeIndirectObject(QPDFObjectHandle::parse(
      "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"));
  QPDFObjectHandle next;
  for (int k = depth - 1; k >= 0; --k) {
    const bool last = k == depth - 1;
    QPDFObjectHandle form =
        QPDFObjectHandle::newStream(&pdf, last ? "BT /F1 12 Tf 10 10 Td (word) Tj ET\n" : draws);
    QPDFObjectHandle dict = form.getDict();
    dict.replaceKey("/Type", QPDFObjectHandle::newName("/XObject"));
    dict.replaceKey("/Subtype", QPDFObjectHandle::newName("/Form"));
    dict.replaceKey("/BBox", QPDFObjectHandle::parse("[0 0 100 100]"));
    QPDFObjectHandle resources = QPDFObjectHandle::newDictionary();
    QPDFObjectHandle fonts = QPDFObjectHandle::newDictionary();
    fonts.replaceKey("/F1", font);
    resources.replaceKey("/Font", fonts);
    if (!last) {
      QPDFObjectHandle xobjects = QPDFObjectHandle::newDictionary();
      xobjects.replaceKey("/X", next);
      resources.replaceKey("/XObject", xobjects);
    }
    dict.replaceKey("/Resources", resources);
    next = form;
  }
  QPDFObjectHandle resources = QPDFObjectHandle::newDictionary();
  QPDFObjectHandle xobjects = QPDFObjectHandle::newDictionary();
  xobjects.replaceKey("/X", next);
  resources.replaceKey("/XObject", xobjects);
  add_page(pdf, QPDFObjectHandle::newStream(&pdf, draws), resources);
  return write_memory(pdf);
}

// ---------------------------------------------------------------------------------------
// The text plugin's generator, registered through its own registration function (its
// sources are linked into this executable).

class OneRegistry final : public gen::sdk::Registry {
 public:
  void add(std::unique_ptr<gen::sdk::Generator> generator) override {
    generators.push_back(std::move(generator));
  }
  std::vector<std::unique_ptr<gen::sdk::Generator>> generators;
};

std::unique_ptr<gen::sdk::Generator> text_template() {
  OneRegistry registry;
  gen_sdk_register_generators(registry);
  for (auto& generator : registry.generators) {
    if (generator->info().id == "text.template") return std::move(generator);
  }
  return nullptr;
}

/// Runs text.template with `params` in a child (run_in_child), its context cancelled after
/// `limit`.
ChildRun run_template(const nlohmann::json& params, std::chrono::seconds wait,
                      std::chrono::milliseconds limit = std::chrono::minutes(5)) {
  return run_in_child(
      [&] {
        DeadlineContext context(params, limit);
        return text_template()->run(context);
      },
      wait);
}

nlohmann::json thousand_items() {
  nlohmann::json list = nlohmann::json::array();
  for (int i = 0; i < 1000; ++i) list.push_back(i);
  return list;
}

// ---------------------------------------------------------------------------------------
// 2b. pdf.render: input-controlled nesting must not recurse without bound.

Status render(const std::string& markdown) {
  DeadlineContext context(nlohmann::json{{"markdown", markdown}}, std::chrono::seconds(60));
  return gen::pdf::RenderGenerator().run(context);
}

TEST(MarkdownNesting, Emphasis50000DeepFailsPermanentlyWithoutCrash) {
  const std::string markdown = std::string(50000, '*') + "x" + std::string(50000, '*');
  const ChildRun run = run_in_child([&] { return render(markdown); }, std::chrono::seconds(60));
  ASSERT_TRUE(run.finished) << run.describe();
  EXPECT_EQ(run.kind, Status::Kind::kPermanent) << run.describe();
  EXPECT_TRUE(contains(run.message, "nested")) << run.describe();
  EXPECT_TRUE(contains(run.message, "256")) << run.describe();
}

TEST(MarkdownNesting, Blockquotes100000DeepFailPermanentlyWithoutCrash) {
  const std::string markdown = std::string(100000, '>') + " deep\n";
  const ChildRun run = run_in_child([&] { return render(markdown); }, std::chrono::seconds(60));
  ASSERT_TRUE(run.finished) << run.describe();
  EXPECT_EQ(run.kind, Status::Kind::kPermanent) << run.describe();
  EXPECT_TRUE(contains(run.message, "nested")) << run.describe();
}

TEST(MarkdownNesting, Lists20000DeepFailPermanentlyWithoutCrash) {
  std::string markdown;  // "- - - a": each marker opens a list inside the item before
  for (int i = 0; i < 20000; ++i) markdown += "- ";
  markdown += "a\n";
  const ChildRun run = run_in_child([&] { return render(markdown); }, std::chrono::seconds(120));
  ASSERT_TRUE(run.finished) << run.describe();
  EXPECT_EQ(run.kind, Status::Kind::kPermanent) << run.describe();
  EXPECT_TRUE(contains(run.message, "nested")) << run.describe();
}

TEST(MarkdownNesting, ModestNestingStillRenders) {
  const ChildRun run = run_in_child(
      [&] {
        return render("> > quoted *and **strong `code` ~~gone~~** text*\n\n- a\n  - b\n    - c\n");
      },
      std::chrono::seconds(60));
  ASSERT_TRUE(run.finished) << run.describe();
  EXPECT_EQ(run.kind, Status::Kind::kOk) << run.describe();
}

// ---------------------------------------------------------------------------------------
// 7. text.template: output cap, cancel checks while rendering, bounded section nesting.

TEST(TemplateBomb, NestedSectionsHitTheOutputCapAndFailPermanently) {
  // 10^9 bytes of output; with time to spare the 64 MiB cap ends it.
  const ChildRun run =
      run_template(nlohmann::json{{"template", "{{#l}}{{#l}}{{#l}}x{{/l}}{{/l}}{{/l}}"},
                                  {"data", {{"l", thousand_items()}}}},
                   std::chrono::seconds(60), std::chrono::seconds(60));
  ASSERT_TRUE(run.finished) << run.describe();
  EXPECT_EQ(run.kind, Status::Kind::kPermanent) << run.describe();
  EXPECT_TRUE(contains(run.message, "64 MiB")) << run.describe();
  EXPECT_TRUE(contains(run.message, "max_output_bytes")) << run.describe();
  EXPECT_LT(run.peak_growth_mb, 300) << run.describe();
}

TEST(TemplateBomb, NestedSectionsWithA2sLimitEndAtTheLimit) {
  // The attack as reported: timeout_ms 2000 ran 20 s and took 2 GB. Now it ends at the cap
  // or at the limit, whichever comes first (the worker records TIMEOUT for the latter).
  const ChildRun run =
      run_template(nlohmann::json{{"template", "{{#l}}{{#l}}{{#l}}x{{/l}}{{/l}}{{/l}}"},
                                  {"data", {{"l", thousand_items()}}}},
                   std::chrono::seconds(30), std::chrono::seconds(2));
  ASSERT_TRUE(run.finished) << run.describe();
  EXPECT_NE(run.kind, Status::Kind::kOk) << run.describe();
  EXPECT_LT(run.seconds, 8.0) << run.describe();
  EXPECT_LT(run.peak_growth_mb, 300) << run.describe();
}

TEST(TemplateBomb, OutputCapParamIsHonouredAndBounded) {
  const ChildRun run =
      run_template(nlohmann::json{{"template", "{{#l}}{{#l}}xxxxxxxxxx{{/l}}{{/l}}"},
                                  {"data", {{"l", thousand_items()}}},
                                  {"max_output_bytes", 1000000}},
                   std::chrono::seconds(30));
  ASSERT_TRUE(run.finished) << run.describe();
  EXPECT_EQ(run.kind, Status::Kind::kPermanent) << run.describe();
  EXPECT_TRUE(contains(run.message, "1000000 bytes")) << run.describe();

  const ChildRun too_big = run_template(
      nlohmann::json{{"template", "x"}, {"max_output_bytes", 1024LL * 1024 * 1024 * 1024}},
      std::chrono::seconds(30));
  ASSERT_TRUE(too_big.finished) << too_big.describe();
  EXPECT_EQ(too_big.kind, Status::Kind::kPermanent) << too_big.describe();
  EXPECT_TRUE(contains(too_big.message, "params.max_output_bytes")) << too_big.describe();
}

TEST(TemplateBomb, SilentLoopStopsAtTheTimeLimit) {
  // 10^9 iterations that write nothing: only a cancel check inside the loops ends it.
  const ChildRun run =
      run_template(nlohmann::json{{"template", "{{#l}}{{#l}}{{#l}}{{/l}}{{/l}}{{/l}}"},
                                  {"data", {{"l", thousand_items()}}}},
                   std::chrono::seconds(30), std::chrono::seconds(1));
  ASSERT_TRUE(run.finished) << run.describe();
  EXPECT_NE(run.kind, Status::Kind::kOk) << run.describe();
  EXPECT_LT(run.seconds, 10.0) << run.describe();  // a 1 s limit; no answer for ~20 s today
}

TEST(TemplateBomb, SectionsNested100000DeepFailPermanently) {
  std::string tmpl;
  for (int i = 0; i < 100000; ++i) tmpl += "{{#a}}";
  tmpl += "x";
  for (int i = 0; i < 100000; ++i) tmpl += "{{/a}}";
  const ChildRun run =
      run_template(nlohmann::json{{"template", tmpl}, {"data", {{"a", {{"b", 1}}}}}},
                   std::chrono::seconds(60), std::chrono::seconds(60));
  ASSERT_TRUE(run.finished) << run.describe();
  EXPECT_EQ(run.kind, Status::Kind::kPermanent) << run.describe();
  EXPECT_TRUE(contains(run.message, "nested")) << run.describe();
}

// ---------------------------------------------------------------------------------------
// 8. pdf.extract_text: bounded decompression, an XObject work budget, cancel checks.

Status extract_text(const std::string& pdf, std::chrono::milliseconds limit) {
  DeadlineContext context(nlohmann::json::object(), limit);
  context.add_input("hostile.pdf", "application/pdf", pdf);
  return gen::pdf::ExtractTextGenerator().run(context);
}

TEST(PdfBomb, ExtractTextFlateBombFailsPermanentlyWithBoundedMemory) {
  const std::string pdf = flate_bomb_pdf(512);  // ~0.5 MB that inflates to 512 MiB
  ASSERT_LT(pdf.size(), 1024u * 1024u);
  const ChildRun run = run_in_child([&] { return extract_text(pdf, std::chrono::minutes(5)); },
                                    std::chrono::seconds(60));
  ASSERT_TRUE(run.finished) << run.describe();
  EXPECT_EQ(run.kind, Status::Kind::kPermanent) << run.describe();
  EXPECT_TRUE(contains(run.message, "MiB")) << run.describe();
  EXPECT_TRUE(contains(run.message, "limit")) << run.describe();
  EXPECT_LT(run.peak_growth_mb, 300) << run.describe();
}

TEST(PdfBomb, ExtractTextXObjectFanoutFailsPermanentlyAtTheWorkBudget) {
  const std::string pdf = xobject_fanout_pdf(7, 20);  // 20^7 = 1.3e9 form invocations
  ASSERT_LT(pdf.size(), 16u * 1024u);
  const ChildRun run = run_in_child([&] { return extract_text(pdf, std::chrono::minutes(5)); },
                                    std::chrono::seconds(60));
  ASSERT_TRUE(run.finished) << run.describe();
  EXPECT_EQ(run.kind, Status::Kind::kPermanent) << run.describe();
  EXPECT_TRUE(contains(run.message, "form XObject")) << run.describe();
  EXPECT_TRUE(contains(run.message, "limit")) << run.describe();
  EXPECT_LT(run.peak_growth_mb, 300) << run.describe();
}

TEST(PdfBomb, ExtractTextStopsAtTheTimeLimitInsideAPage) {
  // Within every budget, but slow: the walk itself must see the deadline. One page; a form
  // of 48 MiB of operators (2.8 million lines) drawn 10 times.
  const std::string pdf = slow_form_pdf(48, 10);
  const ChildRun run = run_in_child([&] { return extract_text(pdf, std::chrono::seconds(1)); },
                                    std::chrono::seconds(60));
  ASSERT_TRUE(run.finished) << run.describe();
  EXPECT_LT(run.seconds, 10.0) << run.describe();
}

TEST(PdfBomb, ExtractTextOfAModestFormTreeStillWorks) {
  const std::string pdf = xobject_fanout_pdf(3, 3);  // 27 words
  DeadlineContext context(nlohmann::json::object());
  context.add_input("forms.pdf", "application/pdf", pdf);
  const Status status = gen::pdf::ExtractTextGenerator().run(context);
  ASSERT_TRUE(status.is_ok()) << status.message();
  const std::string& text = context.outputs.at("forms.txt");
  size_t words = 0;
  for (size_t at = text.find("word"); at != std::string::npos; at = text.find("word", at + 1))
    ++words;
  EXPECT_EQ(words, 27u) << text;
}

// ---------------------------------------------------------------------------------------
// 9. pdf.optimize: recompression decodes within a bound.

TEST(PdfBomb, OptimizeFlateBombStaysWithinBoundedMemory) {
  const std::string pdf = flate_bomb_pdf(512);
  const ChildRun run = run_in_child(
      [&] {
        DeadlineContext context(nlohmann::json::object());
        context.add_input("bomb.pdf", "application/pdf", pdf);
        return gen::pdf::OptimizeGenerator().run(context);
      },
      std::chrono::seconds(90));
  ASSERT_TRUE(run.finished) << run.describe();
  EXPECT_LT(run.peak_growth_mb, 300) << run.describe();
  // The bomb stream is passed through as it is (optimize never needs it decoded).
  EXPECT_EQ(run.kind, Status::Kind::kOk) << run.describe();
}

TEST(PdfBomb, DoubleFlateBombPassesThroughMergeRotateEncryptUntouched) {
  const std::string pdf = double_flate_bomb_pdf(8192);  // 8 GiB of zeros
  ASSERT_LT(pdf.size(), 64u * 1024u);
  auto run_generator = [&](gen::sdk::Generator& generator, nlohmann::json params) {
    return run_in_child(
        [&] {
          DeadlineContext context(params);
          context.add_input("bomb.pdf", "application/pdf", pdf);
          context.add_input("bomb2.pdf", "application/pdf", pdf);
          return generator.run(context);
        },
        std::chrono::seconds(30));
  };
  gen::pdf::MergeGenerator merge;
  gen::pdf::RotateGenerator rotate;
  gen::pdf::EncryptGenerator encrypt;
  gen::pdf::OptimizeGenerator optimize;
  for (const ChildRun& run :
       {run_generator(merge, nlohmann::json::object()), run_generator(rotate, {{"angle", 90}}),
        run_generator(encrypt, {{"user_password", "u"}, {"owner_password", "o"}}),
        run_generator(optimize, nlohmann::json::object())}) {
    ASSERT_TRUE(run.finished) << run.describe();
    EXPECT_EQ(run.kind, Status::Kind::kOk) << run.describe();
    EXPECT_LT(run.peak_growth_mb, 300) << run.describe();
  }
}

// ---------------------------------------------------------------------------------------
// 10. The shaping cache is bounded by bytes; a huge word is never cached whole.

TEST(ShapingCache, HugeWordsDoNotGrowTheWorkerForGood) {
  const ChildRun run = run_in_child(
      [] {
        malloc_trim(0);
        const long before_kb = status_kb("VmRSS:");
        for (int i = 0; i < 4; ++i) {
          // One 2 MiB "word" per document, different each time (no cache hits).
          std::string word(2 * kMiB, static_cast<char>('a' + i));
          const Status status = render(word);
          if (!status.is_ok()) return status;
        }
        malloc_trim(0);
        const long kept_mb = (status_kb("VmRSS:") - before_kb) / 1024;
        return Status::permanent("kept " + std::to_string(kept_mb));
      },
      std::chrono::seconds(240));
  ASSERT_TRUE(run.finished) << run.describe();
  ASSERT_TRUE(contains(run.message, "kept ")) << run.describe();
  if (!gen::test::kUnderAddressSanitizer) {  // see sanitizers.hpp
    EXPECT_LT(std::stol(run.message.substr(5)), 100) << run.describe();
    EXPECT_LT(run.peak_growth_mb, 600) << run.describe();
  }
}

}  // namespace
