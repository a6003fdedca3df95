#include "find_cuts.hpp"

namespace gen::pdf {

std::vector<size_t> find_cuts(std::string_view text, size_t step) {
  std::vector<size_t> cuts;
  char fence = 0;
  size_t fence_length = 0;
  bool previous_blank = true;
  size_t next_cut = step;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    size_t indent = 0;
    while (indent < line.size() && indent < 4 && line[indent] == ' ') ++indent;
    const std::string_view body = line.substr(indent);
    const bool blank = line.find_first_not_of(" \t\r") == std::string_view::npos;
    if (indent < 4 && !body.empty() && (body[0] == '<' || body[0] == '[')) return {};
    if (indent < 4 && body.size() >= 3 && (body[0] == '`' || body[0] == '~')) {
      size_t run = 0;
      while (run < body.size() && body[run] == body[0]) ++run;
      if (run >= 3) {
        if (fence == 0) {
          fence = body[0];
          fence_length = run;
        } else if (body[0] == fence && run >= fence_length &&
                   body.find_first_not_of(" \t\r", run) == std::string_view::npos) {
          fence = 0;
        }
      }
    }
    if (fence == 0 && previous_blank && start >= next_cut && indent == 0 && !body.empty() &&
        body[0] == '#') {
      size_t hashes = 0;
      while (hashes < body.size() && body[hashes] == '#') ++hashes;
      if (hashes <= 6 && (hashes == body.size() || body[hashes] == ' ' || body[hashes] == '\t')) {
        cuts.push_back(start);
        next_cut = start + step;
      }
    }
    previous_blank = blank;
    start = end + 1;
  }
  if (fence != 0) {
    // An unclosed fence runs to the end: no cut may fall after its opening. Rare; give up.
    return {};
  }
  return cuts;
}

}  // namespace gen::pdf
