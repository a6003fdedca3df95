#include "render_generator.hpp"

#include <exception>

#include "markdown_pdf.hpp"
#include "render_options.hpp"

namespace gen::pdf {
namespace {

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

bool is_markdown(const gen::sdk::InputArtifact& input) {
  return input.media_type.rfind("text/markdown", 0) == 0 || ends_with(input.name, ".md") ||
         ends_with(input.name, ".markdown");
}

}  // namespace

gen::sdk::GeneratorInfo RenderGenerator::info() const {
  using gen::sdk::ParamSpec;
  using gen::sdk::ParamType;
  gen::sdk::GeneratorInfo info;
  info.id = "pdf.render";
  info.version = "1.0.0";
  info.description =
      "Typesets GitHub-flavoured Markdown (an input .md / text/markdown artifact, or the "
      "'markdown' param) into a PDF with embedded DejaVu fonts, links, outline and metadata.";
  info.params = {
      ParamSpec{"markdown", ParamType::kString, false, nullptr,
                "Markdown source, used when no Markdown input artifact is given"},
      ParamSpec{"output_name", ParamType::kString, false, "document.pdf",
                "Name of the PDF artifact"},
      ParamSpec{"page_size", ParamType::kString, false, nullptr,
                "A3, A4, A5, Letter, Legal, or WIDTHxHEIGHT in millimetres (\"210x297\"); "
                "default: the tenant's PDF__DEFAULT_PAGE_SIZE setting (A4)"},
      ParamSpec{"margins_mm", ParamType::kAny, false, 20,
                "Margins in mm: one number, or an object {top, right, bottom, left}"},
      ParamSpec{"font_size", ParamType::kNumber, false, 11, "Body text size in points (4-72)"},
      ParamSpec{"title", ParamType::kString, false, nullptr,
                "Document title (Info dictionary); default: the first level-1 heading"},
      ParamSpec{"author", ParamType::kString, false, nullptr, "Document author"},
      ParamSpec{"subject", ParamType::kString, false, nullptr, "Document subject"},
      ParamSpec{"keywords", ParamType::kString, false, nullptr, "Document keywords"},
      ParamSpec{"header", ParamType::kString, false, "",
                "Header text on every page; {{page}} and {{pages}} are replaced"},
      ParamSpec{"footer", ParamType::kString, false, "{{page}} / {{pages}}",
                "Footer text on every page; {{page}} and {{pages}} are replaced"},
      ParamSpec{"outline", ParamType::kBoolean, false, true, "Bookmarks from the headings"},
  };
  // Markdown, and images referenced by name (PNG and JPEG are decoded; others render alt text).
  info.input_media_types = {"text/markdown", "text/x-markdown", "text/plain", "image/*",
                            "application/octet-stream"};
  info.output_media_types = {"application/pdf"};
  info.max_attempts = 2;
  return info;
}

gen::sdk::Status RenderGenerator::run(gen::sdk::Context& context) {
  RenderOptions options;
  const nlohmann::json* params = &context.params();
  nlohmann::json with_defaults;
  if (params->is_object() && !params->contains("page_size")) {
    // A job that names no page size gets its tenant's (or the system's) default.
    if (auto page_size = context.setting("PDF__DEFAULT_PAGE_SIZE")) {
      with_defaults = *params;
      with_defaults["page_size"] = *page_size;
      params = &with_defaults;
    }
  }
  if (auto error = parse_render_options(*params, options)) {
    return gen::sdk::Status::permanent(*error);
  }
  std::string_view markdown;
  bool found = false;
  for (const gen::sdk::InputArtifact& input : context.inputs()) {
    if (is_markdown(input)) {
      markdown = input.data;
      found = true;
      break;
    }
  }
  std::string param_markdown;
  if (!found) {
    if (auto it = params->find("markdown"); it != params->end() && !it->is_null()) {
      if (!it->is_string()) return gen::sdk::Status::permanent("params.markdown: must be a string");
      param_markdown = it->get<std::string>();
      markdown = param_markdown;
      found = true;
    }
  }
  if (!found) {
    return gen::sdk::Status::permanent(
        "pdf.render: no Markdown given: add an input artifact named *.md (or of media type "
        "text/markdown) or set params.markdown");
  }

  const auto& inputs = context.inputs();
  ImageLookup images = [&inputs](std::string_view name, std::string_view& bytes) {
    for (const gen::sdk::InputArtifact& input : inputs) {
      if (input.name == name) {
        bytes = input.data;
        return true;
      }
    }
    return false;
  };
  try {
    RenderResult result =
        render_markdown(markdown, options, images, [&context] { return context.cancelled(); });
    for (const std::string& warning : result.warnings) {
      context.log(gen::sdk::LogLevel::kWarning, "pdf.render: " + warning);
    }
    context.write_output(options.output_name, "application/pdf", result.pdf);
    context.progress(1.0);
    return gen::sdk::Status::ok();
  } catch (const RenderRejected& rejected) {
    return gen::sdk::Status::permanent(rejected.message);
  } catch (const RenderCancelled&) {
    return gen::sdk::Status::retryable("pdf.render: cancelled");
  } catch (const std::exception& error) {
    return gen::sdk::Status::retryable(std::string("pdf.render: ") + error.what());
  }
}

}  // namespace gen::pdf
