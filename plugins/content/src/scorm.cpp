// SCORM 1.2 and 2004 content packages: a zip with imsmanifest.xml at its root.
//
// The manifest's default organization (organizations/@default, else the first one) is a
// tree of items. Each item that references a resource (identifierref) gives one segment,
// located by the titles of the items from the top down to it, joined with " > " ("Module 1 >
// Lesson 2"), kind "item". Its text is the text of the resource's launch page (href) and of
// the resource's other HTML files (file/@href ending in .html, .htm, .xhtml), in manifest
// order, each extracted as an HTML page (html.hpp) with its headings kept as paragraphs.
// A page is resolved against the xml:base of the manifest, resources and resource elements
// (in that order); a query or fragment is dropped and %XX escapes decoded.
//
// Paths come from an untrusted manifest: absolute paths, URLs (an external launch page) and
// ".." that climbs out of the package are refused, and so is a page the package does not
// hold, each with a message naming the item and the path. A page referenced by several items
// is read once.
//
// Title: the organization's title, else none.
#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "decoding.hpp"
#include "html.hpp"
#include "sources.hpp"
#include "xml.hpp"
#include "zip.hpp"

namespace gen::content {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_html_name(std::string_view path) {
  const std::size_t dot = path.find_last_of('.');
  if (dot == std::string_view::npos) return false;
  std::string ext(path.substr(dot + 1));
  for (char& c : ext) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return ext == "html" || ext == "htm" || ext == "xhtml" || ext == "xht";
}

class ScormReader {
 public:
  ScormReader(Job& job, ZipArchive& zip) : job_(job), zip_(zip) {}

  void load(const XmlNode* manifest) {
    manifest_base_ = xml_base(manifest);
    if (const XmlNode* resources = child(manifest, "resources")) {
      const std::string resources_base = manifest_base_ + xml_base(resources);
      for (const XmlNode* resource : children(resources, "resource")) {
        const std::string id = attribute(resource, "identifier");
        if (!id.empty() && !resources_.count(id)) {
          resources_[id] = Resource{resource, resources_base + xml_base(resource)};
        }
      }
    }
  }

  /// Appends a segment for `item` and each of its descendants that launches a page.
  void item(const XmlNode* item, const std::string& parent_path, Extraction& result) {
    job_.poll();
    std::string title;
    if (const XmlNode* node = child(item, "title")) title = std::string(trim(text_of(node)));
    if (title.empty()) title = attribute(item, "identifier");
    const std::string path = parent_path.empty() ? title : parent_path + " > " + title;

    const std::string ref = attribute(item, "identifierref");
    if (!ref.empty()) {
      auto it = resources_.find(ref);
      if (it == resources_.end()) {
        job_.fail("SCORM item '" + path + "' references resource '" + ref +
                  "', which imsmanifest.xml does not define");
      }
      std::string text;
      for (const std::string& page : pages(it->second, path)) {
        const std::string& page_text = read_page(page, path);
        if (page_text.empty()) continue;
        if (!text.empty()) text += "\n\n";
        text += page_text;
      }
      if (!text.empty()) {
        job_.count_text(text.size() + path.size());
        result.segments.push_back(Segment{path, "item", std::move(text)});
      }
    }
    for (const XmlNode* sub : children(item, "item")) this->item(sub, path, result);
  }

 private:
  struct Resource {
    const XmlNode* node;
    std::string base;
  };

  /// The package paths of the resource's HTML pages: the launch page first.
  std::vector<std::string> pages(const Resource& resource, const std::string& item_path) {
    std::vector<std::string> out;
    const std::string href = attribute(resource.node, "href");
    if (!href.empty()) {
      std::string launch = resolve(resource.base + href, item_path);
      if (is_html_name(launch)) out.push_back(std::move(launch));
    }
    for (const XmlNode* file : children(resource.node, "file")) {
      const std::string file_href = attribute(file, "href");
      if (file_href.empty()) continue;
      std::string path = resolve(resource.base + file_href, item_path);
      if (!is_html_name(path)) continue;
      if (std::find(out.begin(), out.end(), path) == out.end()) out.push_back(std::move(path));
    }
    return out;
  }

  /// `href` as a path inside the package, normalised; refuses what leaves the package.
  std::string resolve(const std::string& href, const std::string& item_path) {
    std::string raw = href.substr(0, href.find_first_of("?#"));
    std::string decoded;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '%' && i + 2 < raw.size() && hex_value(raw[i + 1]) >= 0 &&
          hex_value(raw[i + 2]) >= 0) {
        decoded += static_cast<char>(hex_value(raw[i + 1]) * 16 + hex_value(raw[i + 2]));
        i += 2;
      } else {
        decoded += raw[i] == '\\' ? '/' : raw[i];
      }
    }
    auto refuse = [&](const std::string& why) {
      job_.fail("SCORM item '" + item_path + "': the page '" + href + "' " + why);
    };
    if (decoded.find('\0') != std::string::npos) refuse("contains a NUL byte");
    if (decoded.starts_with('/')) refuse("is an absolute path: refused");
    const std::size_t colon = decoded.find(':');
    if (colon != std::string::npos && decoded.find('/') > colon) {
      refuse("is a URL or drive path outside the package: refused");
    }
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (start <= decoded.size()) {
      std::size_t end = decoded.find('/', start);
      if (end == std::string::npos) end = decoded.size();
      const std::string part = decoded.substr(start, end - start);
      if (part == "..") {
        if (parts.empty()) refuse("climbs out of the package ('..'): refused");
        parts.pop_back();
      } else if (!part.empty() && part != ".") {
        parts.push_back(part);
      }
      start = end + 1;
    }
    std::string path;
    for (const std::string& part : parts) {
      if (!path.empty()) path += '/';
      path += part;
    }
    if (path.empty()) refuse("names no file");
    return path;
  }

  const std::string& read_page(const std::string& path, const std::string& item_path) {
    if (auto cached = texts_.find(path); cached != texts_.end()) return cached->second;
    const std::optional<std::string> name = zip_.find(path);
    if (!name) {
      job_.fail("SCORM item '" + item_path + "': the page '" + path +
                "' named by imsmanifest.xml is not in the package");
    }
    const std::string bytes = zip_.read(*name, job_.limits().max_html_bytes);
    const std::string html = decode_page(bytes);
    HtmlText page = extract_html_text(job_, html, /*headings_inline=*/true, "page '" + path + "'");
    return texts_[path] = std::move(page.text);
  }

  Job& job_;
  ZipArchive& zip_;
  std::string manifest_base_;
  std::map<std::string, Resource, std::less<>> resources_;
  std::map<std::string, std::string, std::less<>> texts_;
};

}  // namespace

Extraction extract_scorm(Job& job, ZipArchive& zip) {
  const std::optional<std::string> name = zip.find("imsmanifest.xml");
  if (!name) job.fail("not a SCORM package: the zip has no imsmanifest.xml at its root");
  XmlDocument doc = parse_xml(job, zip.read(*name, job.limits().max_xml_part_bytes), *name);
  const XmlNode* manifest = doc.root();
  if (!is_element(manifest, "manifest")) {
    job.fail(*name + " is not a content package manifest (its root is not <manifest>)");
  }
  const XmlNode* organizations = child(manifest, "organizations");
  const XmlNode* organization = nullptr;
  if (organizations != nullptr) {
    const std::string wanted = attribute(organizations, "default");
    const std::vector<XmlNode*> all = children(organizations, "organization");
    for (const XmlNode* org : all) {
      if (!wanted.empty() && attribute(org, "identifier") == wanted) organization = org;
    }
    if (organization == nullptr && !all.empty()) organization = all.front();
  }
  if (organization == nullptr) {
    job.fail(*name + " has no organization: the package has no items to read");
  }
  ScormReader reader(job, zip);
  reader.load(manifest);

  Extraction result;
  result.format = "scorm";
  if (const XmlNode* title = child(organization, "title")) {
    std::string text(trim(text_of(title)));
    if (!text.empty()) result.title = std::move(text);
  }
  for (const XmlNode* item : children(organization, "item")) reader.item(item, "", result);
  return result;
}

}  // namespace gen::content
