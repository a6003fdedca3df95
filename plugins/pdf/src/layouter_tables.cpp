// Layouter, tables: GitHub tables with column widths from their content, header rows
// repeated on each page, and rows taller than a page split over pages.
#include "layouter.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>

namespace gen::pdf {

struct Layouter::Cell {
  std::vector<Span> spans;
  std::vector<Line> lines;
  double min_width = 0;
  double max_width = 0;
  double height = 0;
};

struct Layouter::Row {
  std::vector<Cell> cells;
  bool header = false;
  double height = 0;
};

void Layouter::table(cmark_node* node) {
  const int columns = cmark_gfm_extensions_get_table_columns(node);
  if (columns <= 0) return;
  const uint8_t* aligns = cmark_gfm_extensions_get_table_alignments(node);
  std::vector<Row> rows;
  for (cmark_node* row_node = cmark_node_first_child(node); row_node != nullptr;
       row_node = cmark_node_next(row_node)) {
    Row row;
    row.header = cmark_gfm_extensions_get_table_row_is_header(row_node) != 0;
    for (cmark_node* cell_node = cmark_node_first_child(row_node); cell_node != nullptr;
         cell_node = cmark_node_next(cell_node)) {
      Cell cell;
      InlineStyle style;
      style.size = base_ * 0.95;
      style.bold = row.header;
      collect_inlines(cell_node, style, cell.spans);
      row.cells.push_back(std::move(cell));
    }
    row.cells.resize(static_cast<size_t>(columns));
    rows.push_back(std::move(row));
  }
  // Column widths from content: each column's longest word and its widest cell.
  std::vector<double> min_w(columns, 0), max_w(columns, 0);
  for (Row& row : rows) {
    for (int c = 0; c < columns; ++c) {
      Cell& cell = row.cells[c];
      double line_width = 0;
      for (const Word& word : words_of(cell.spans)) {
        min_w[c] = std::max(min_w[c], word.width);
        line_width += word.width + word.space_width;
        if (word.hard_break) {
          max_w[c] = std::max(max_w[c], line_width);
          line_width = 0;
        }
      }
      max_w[c] = std::max(max_w[c], line_width);
    }
  }
  const double available = right_ - left_;
  const double padding = 2 * kCellPadding;
  std::vector<double> widths(columns);
  double sum_max = 0, sum_min = 0;
  for (int c = 0; c < columns; ++c) {
    max_w[c] += padding + 0.5;
    min_w[c] = std::min(min_w[c] + padding + 0.5, available / columns);
    min_w[c] = std::max(min_w[c], padding + 12);
    max_w[c] = std::max(max_w[c], min_w[c]);
    sum_max += max_w[c];
    sum_min += min_w[c];
  }
  if (sum_max <= available) {
    widths = max_w;
  } else if (sum_min >= available) {
    for (int c = 0; c < columns; ++c) widths[c] = min_w[c] * available / sum_min;
  } else {
    const double extra = available - sum_min;
    for (int c = 0; c < columns; ++c) {
      widths[c] = min_w[c] + extra * (max_w[c] - min_w[c]) / (sum_max - sum_min);
    }
  }
  for (Row& row : rows) {
    for (int c = 0; c < columns; ++c) {
      Cell& cell = row.cells[c];
      cell.lines = break_lines(cell.spans, widths[c] - padding);
      cell.height = 0;
      for (const Line& line : cell.lines) cell.height += line.height();
      row.height = std::max(row.height, cell.height + padding);
    }
  }
  space(base_ * 0.2);
  const Row* header = rows.empty() || !rows.front().header ? nullptr : &rows.front();
  for (const Row& row : rows) {
    if (cancelled_ && cancelled_()) throw RenderCancelled{};
    // A row that fits on a page starts on a fresh page rather than being split; a row
    // taller than a page is split wherever it starts.
    const bool fits_a_page = row.height <= top_ - bottom_;
    const bool room_for_a_line = y_ - bottom_ >= base_ * kLineFactor * 2 + 2 * kCellPadding;
    if (y_ - row.height < bottom_ && !at_page_top() && (fits_a_page || !room_for_a_line)) {
      new_page();
      if (header != nullptr && &row != header) draw_row(*header, widths, aligns);
    }
    draw_row(row, widths, aligns);
  }
  space(base_ * 0.7);
}

void Layouter::draw_row(const Row& row, const std::vector<double>& widths, const uint8_t* aligns) {
  std::vector<size_t> next_line(row.cells.size(), 0);
  bool first_slice = true;
  while (true) {
    bool remaining = false;
    for (size_t c = 0; c < row.cells.size(); ++c) {
      if (next_line[c] < row.cells[c].lines.size()) remaining = true;
    }
    if (!remaining && !first_slice) break;
    if (!first_slice) new_page();
    const double avail = y_ - bottom_ - 2 * kCellPadding;
    // Lines of each cell that fit into this slice.
    std::vector<size_t> end_line(row.cells.size());
    double slice_height = 0;
    bool complete = true;
    for (size_t c = 0; c < row.cells.size(); ++c) {
      double h = 0;
      size_t l = next_line[c];
      const auto& lines = row.cells[c].lines;
      while (l < lines.size() && (h + lines[l].height() <= avail || l == next_line[c])) {
        h += lines[l].height();
        ++l;
      }
      end_line[c] = l;
      if (l < lines.size()) complete = false;
      slice_height = std::max(slice_height, h);
    }
    const double height = first_slice && complete ? row.height : slice_height + 2 * kCellPadding;
    const double row_top = y_;
    double x = left_;
    for (size_t c = 0; c < row.cells.size(); ++c) {
      if (row.header) fill_rect(x, row_top - height, widths[c], height, Color{0.92f, 0.92f, 0.92f});
      stroke_rect(x, row_top - height, widths[c], height, 0.6, Color{0.6f, 0.6f, 0.6f});
      y_ = row_top - kCellPadding;
      const uint8_t align = aligns != nullptr ? aligns[c] : 0;
      for (size_t l = next_line[c]; l < end_line[c]; ++l) {
        const Line& line = row.cells[c].lines[l];
        const double inner = widths[c] - 2 * kCellPadding;
        double lx = x + kCellPadding;
        if (align == 'c') lx += (inner - line.width) / 2;
        if (align == 'r') lx += inner - line.width;
        draw_line(line, lx);
      }
      next_line[c] = end_line[c];
      x += widths[c];
    }
    y_ = row_top - height;
    first_slice = false;
  }
}

}  // namespace gen::pdf
