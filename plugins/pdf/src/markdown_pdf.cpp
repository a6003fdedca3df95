// pdf.render's entry: parses the Markdown (long documents in parts, on another thread, while
// the parts before are laid out), lays it out (layouter.hpp), draws headers and footers and
// writes the PDF (pdf_writer.hpp).
#include "markdown_pdf.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>

#include <cmark-gfm-core-extensions.h>

#include "background_work.hpp"
#include "cmark_arena.hpp"
#include "find_cuts.hpp"
#include "fonts.hpp"
#include "helper_threads.hpp"
#include "layout_model.hpp"
#include "layouter.hpp"
#include "markdown_tree.hpp"
#include "pdf_writer.hpp"

namespace gen::pdf {

RenderResult render_markdown(std::string_view markdown, const RenderOptions& options,
                             const ImageLookup& images, const std::function<bool()>& cancelled) {
  cmark_gfm_core_extensions_ensure_registered();
  // A long document is cut into parts where that is safe; another thread parses them in turn
  // while this one lays out each part as soon as it is parsed (parsing and layout overlap).
  constexpr size_t kCutFrom = 64 * 1024;    // bytes
  constexpr size_t kPartBytes = 32 * 1024;  // about; small parts start the layout early
  std::vector<size_t> cuts;
  if (markdown.size() >= kCutFrom && cpu_count() > 1) {
    cuts = find_cuts(markdown, kPartBytes);
  }
  std::vector<std::string_view> texts;
  for (size_t i = 0, begin = 0; i <= cuts.size(); ++i) {
    const size_t end = i < cuts.size() ? cuts[i] : markdown.size();
    texts.push_back(markdown.substr(begin, end - begin));
    begin = end;
  }
  std::vector<cmark_node*> parts(texts.size());
  // The trees live in two arenas: the parser thread's, and this thread's for what reading
  // them allocates (a text node's C string). Both are freed at once after the layout.
  auto arenas = std::make_shared<std::array<CmarkArena, 2>>();
  std::optional<CmarkArena::Scope> arena_scope(std::in_place, (*arenas)[0]);
  std::mutex parsed_mutex;
  std::condition_variable parsed_cv;
  size_t parsed = 0;  // parts[0, parsed) are ready
  std::atomic<bool> stop_parsing = false;
  struct Parser {
    std::atomic<bool>& stop;
    HelperTask task;
    ~Parser() { stop = true; }  // then `task` is joined
  } parser{stop_parsing, {}};   // declared after the arenas: stopped and joined before they go
  if (parts.size() > 1) {
    parser.task = HelperTask::start([&] {
      CmarkArena::Scope scope((*arenas)[1]);
      for (size_t i = 0; i < texts.size() && !stop_parsing; ++i) {
        cmark_node* part = parse_markdown(texts[i]);
        std::lock_guard lock(parsed_mutex);
        parts[i] = part;
        parsed = i + 1;
        parsed_cv.notify_one();
      }
    });
  } else {
    parts[0] = parse_markdown(markdown);
    parsed = 1;
  }
  auto root_of = [&](size_t i) {
    std::unique_lock lock(parsed_mutex);
    parsed_cv.wait(lock, [&] { return parsed > i; });
    if (parts[i] == nullptr) throw std::runtime_error("pdf: the Markdown parser failed");
    return parts[i];
  };

  FontSet fonts;
  Document doc;
  BackgroundWork background;
  Layouter layouter(options, images, fonts, doc, background, cancelled);
  layouter.begin();
  for (size_t i = 0; i < parts.size(); ++i) layouter.add(root_of(i));
  if (parser.task.joinable()) parser.task.join();
  layouter.end();
  arena_scope.reset();
  background.post([to_free = std::move(arenas)] {});

  // Drop a trailing empty page (a page break at the very end).
  while (doc.pages.size() > 1 && doc.pages.back().empty()) doc.pages.pop_back();
  const int pages = static_cast<int>(doc.pages.size());
  if (doc.pages.back().handed_over == 0) {
    background.compress_page(doc.pages.size() - 1, std::move(doc.pages.back().content));
  }
  draw_headers_and_footers(doc, fonts, options);

  RenderResult result;
  result.pdf = write_pdf(doc, fonts, options, background);
  result.page_count = pages;
  result.warnings = std::move(doc.warnings);
  return result;
}

}  // namespace gen::pdf
