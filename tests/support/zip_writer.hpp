// Real zip files for tests (DOCX, SCORM, XLSX, bombs), written with libzip in memory.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace gen::test {

struct ZipEntry {
  std::string name;
  std::string data;
  bool store = false;  ///< true: stored; false: deflated
};

/// The bytes of a zip archive holding `entries` in order. Throws std::runtime_error when
/// libzip refuses.
std::string make_zip(const std::vector<ZipEntry>& entries);

/// A minimal valid DOCX: [Content_Types].xml, _rels/.rels, word/document.xml made of
/// `paragraphs` ({style id or "", text}; style ids "Title", "Heading1", "Heading2" ... are
/// defined in word/styles.xml with their names), and docProps/core.xml with `title` when
/// non-empty.
std::string make_docx(const std::vector<std::pair<std::string, std::string>>& paragraphs,
                      const std::string& title = {});

}  // namespace gen::test
