// Reading a hostile zip (DOCX, SCORM) within bounds, with libzip.
//
// A zip's headers say how large each entry is, and they may lie: a 4 GB run of zeros
// deflates to 4 MB, and a header can claim 1 kB for it. So sizes are counted as the
// decompressor produces them (zip_fread in a loop): an entry is refused as soon as it passes
// its cap, or passes the size its header declared, and everything read counts against the
// job's max_unzipped_bytes. A header that honestly declares more than the cap is refused
// before anything is inflated. Nested zips are never opened.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "segments.hpp"

struct zip;

namespace gen::content {

/// True when `data` starts like a zip archive (a local file header, or the end record of
/// an empty archive).
bool looks_like_zip(std::string_view data);

class ZipArchive {
 public:
  /// Opens the archive in `data` (not copied: it must outlive the object). Throws BadInput
  /// through `job` when it is damaged or has more than Limits::max_zip_entries entries.
  /// libzip reads the whole central directory first; its memory is bounded by the input's
  /// size (each entry takes at least 46 bytes of it).
  ZipArchive(Job& job, std::string_view data);
  ~ZipArchive();
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;

  /// The exact name of the entry called `name` (compared exactly, then ignoring case as
  /// Office's part names are), or nullopt.
  std::optional<std::string> find(std::string_view name) const;

  /// The bytes of entry `name` (as find() names it), at most `max_bytes`; throws BadInput
  /// naming the entry and the limit past it, for an encrypted or damaged entry, or an
  /// entry that inflates past its declared size. Polls cancellation every chunk.
  std::string read(std::string_view name, std::size_t max_bytes);

 private:
  Job& job_;
  ::zip* archive_ = nullptr;
};

}  // namespace gen::content
