// PDF assembly for pdf.render: the laid-out Document becomes a PDF file with QPDF (pages,
// link annotations, images, subset fonts, the outline, the Info dictionary).
#pragma once

#include <string>

#include "background_work.hpp"
#include "fonts.hpp"
#include "layout_model.hpp"
#include "render_options.hpp"

namespace gen::pdf {

/// Draws options.header and options.footer ({{page}} and {{pages}} expanded) into each
/// page's PageOut::footer stream: called once the page count is known.
void draw_headers_and_footers(Document& doc, FontSet& fonts, const RenderOptions& options);

/// Writes `doc` as a PDF file. The pages' bodies come compressed from `background` (every
/// page's compression queued beforehand); the subset font programs are made there too while
/// the page objects are built. Same input, same bytes: the file ID is a hash of the file.
std::string write_pdf(Document& doc, FontSet& fonts, const RenderOptions& options,
                      BackgroundWork& background);

}  // namespace gen::pdf
