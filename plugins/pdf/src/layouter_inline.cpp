// Layouter, inline content: Markdown inlines (text, code, emphasis, links, images, breaks)
// become spans of one style; images are looked up among the inputs and decoded once.
#include "layouter.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <cmark-gfm.h>

#include "images.hpp"
#include "markdown_tree.hpp"

namespace gen::pdf {

void Layouter::collect_inlines(cmark_node* node, InlineStyle style, std::vector<Span>& out) {
  for (cmark_node* child = cmark_node_first_child(node); child != nullptr;
       child = cmark_node_next(child)) {
    switch (cmark_node_get_type(child)) {
      case CMARK_NODE_TEXT:
        push_text(cmark_node_get_literal(child), style, false, out);
        break;
      case CMARK_NODE_CODE:
        push_text(cmark_node_get_literal(child), style, true, out);
        break;
      case CMARK_NODE_SOFTBREAK:
        push_text(" ", style, false, out);
        break;
      case CMARK_NODE_LINEBREAK: {
        Span span;
        span.hard_break = true;
        out.push_back(std::move(span));
        break;
      }
      case CMARK_NODE_EMPH: {
        InlineStyle inner = style;
        inner.italic = true;
        collect_inlines(child, inner, out);
        break;
      }
      case CMARK_NODE_STRONG: {
        InlineStyle inner = style;
        inner.bold = true;
        collect_inlines(child, inner, out);
        break;
      }
      case CMARK_NODE_LINK: {
        InlineStyle inner = style;
        const char* url = cmark_node_get_url(child);
        if (url != nullptr && *url != '\0') {
          doc_.links.emplace_back(url);
          inner.link = static_cast<int>(doc_.links.size()) - 1;
          inner.color = kLinkColor;
        }
        collect_inlines(child, inner, out);
        break;
      }
      case CMARK_NODE_IMAGE:
        push_image(child, style, out);
        break;
      case CMARK_NODE_HTML_INLINE: {
        const std::string html = cmark_node_get_literal(child);
        if (html.rfind("<br", 0) == 0) {
          Span span;
          span.hard_break = true;
          out.push_back(std::move(span));
        }
        break;
      }
      default:
        if (is_type(child, "strikethrough")) {
          InlineStyle inner = style;
          inner.strike = true;
          collect_inlines(child, inner, out);
        } else {
          collect_inlines(child, style, out);
        }
    }
  }
}

void Layouter::push_text(std::string_view text, const InlineStyle& style, bool code,
                         std::vector<Span>& out) {
  Span span;
  span.text = text;
  span.font = code ? FontStyle::kMono : font_for(style);
  span.size = code ? style.size * 0.92 : style.size;
  span.color = style.color;
  span.link = style.link;
  span.code = code;
  span.strike = style.strike;
  out.push_back(std::move(span));
}

void Layouter::push_image(cmark_node* node, const InlineStyle& style, std::vector<Span>& out) {
  const std::string url = cmark_node_get_url(node) != nullptr ? cmark_node_get_url(node) : "";
  std::string alt = plain_text(node);
  int index = image_index(url);
  if (index < 0) {
    InlineStyle alt_style = style;
    alt_style.italic = true;
    push_text(keep_text(alt.empty() ? "[image: " + url + "]" : std::move(alt)), alt_style, false,
              out);
    return;
  }
  const ImageData& image = doc_.images[index].data;
  double width = image.width * kPixelsToPoints;
  double height = image.height * kPixelsToPoints;
  const double max_width = right_ - left_;
  const double max_height = (top_ - bottom_) * 0.9;
  const double scale = std::min({1.0, max_width / width, max_height / height});
  Span span;
  span.image = index;
  span.image_width = width * scale;
  span.image_height = height * scale;
  span.size = style.size;
  span.link = style.link;
  out.push_back(std::move(span));
}

int Layouter::image_index(const std::string& url) {
  if (auto it = image_cache_.find(url); it != image_cache_.end()) return it->second;
  int index = -1;
  std::string_view bytes;
  std::string name = url;
  bool found = image_lookup_ && image_lookup_(name, bytes);
  if (!found) {
    const size_t slash = url.find_last_of('/');
    if (slash != std::string::npos) {
      name = url.substr(slash + 1);
      found = image_lookup_ && image_lookup_(name, bytes);
    }
  }
  if (!found) {
    doc_.warnings.push_back("image '" + url + "' is not among the inputs; rendered its alt text");
  } else if (auto same = image_by_bytes_.find(bytes.data()); same != image_by_bytes_.end()) {
    index = same->second;  // another URL for an input already decoded ("a.png", "./a.png")
  } else {
    std::string error;
    if (auto image = decode_image(bytes, error)) {
      const size_t size = image->samples.size() + image->alpha.size();
      if (size > kMaxImageBytes - std::min(image_bytes_, kMaxImageBytes)) {
        doc_.warnings.push_back("image '" + url + "': the document's images pass " +
                                std::to_string(kMaxImageBytes / (1024 * 1024)) +
                                " MiB decoded (the limit); rendered its alt text");
      } else {
        image_bytes_ += size;
        doc_.images.push_back(ImageRef{std::move(*image)});
        index = static_cast<int>(doc_.images.size()) - 1;
      }
    } else {
      doc_.warnings.push_back("image '" + url + "': " + error + "; rendered its alt text");
    }
    image_by_bytes_.emplace(bytes.data(), index);
  }
  image_cache_.emplace(url, index);
  return index;
}

}  // namespace gen::pdf
