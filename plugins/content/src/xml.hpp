// Parsing untrusted XML (DOCX parts, SCORM manifests) with libxml2, safely:
//  * from the bounded buffer (xmlCtxtReadMemory), network access off (XML_PARSE_NONET),
//    entities never substituted (no XML_PARSE_NOENT), no DTD loading (no
//    XML_PARSE_DTDLOAD), libxml2's default size and depth limits kept (no XML_PARSE_HUGE:
//    nesting stops at 256 levels, which also bounds the recursive walks over the tree);
//  * a document with a DOCTYPE is refused as soon as the parser meets it, before its
//    internal subset is read: neither DOCX parts nor SCORM manifests ever have one, and it
//    is where billion-laughs and external-entity attacks live;
//  * errors go to a handler of the parse (the first one ends up in the message), never to
//    stderr; xmlInitParser runs once, so parses on several threads are safe.
// Elements and attributes are matched by local name: DOCX (transitional or strict) and SCORM
// (1.2 or 2004, with or without prefixes) differ in namespaces, not in names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "segments.hpp"

struct _xmlDoc;
struct _xmlNode;

namespace gen::content {

using XmlNode = _xmlNode;

/// A parsed document; frees it.
class XmlDocument {
 public:
  explicit XmlDocument(_xmlDoc* doc) : doc_(doc) {}
  ~XmlDocument();
  XmlDocument(const XmlDocument&) = delete;
  XmlDocument& operator=(const XmlDocument&) = delete;
  XmlDocument(XmlDocument&& other) noexcept : doc_(other.doc_) { other.doc_ = nullptr; }
  XmlDocument& operator=(XmlDocument&&) = delete;
  /// The root element (never null: parse_xml refuses a document without one).
  XmlNode* root() const;

 private:
  _xmlDoc* doc_;
};

/// Parses `data` as described above. `part` names it in messages ("word/document.xml").
/// Throws BadInput through `job`: not well-formed (with the line and libxml2's reason),
/// or a DOCTYPE.
XmlDocument parse_xml(Job& job, std::string_view data, const std::string& part);

/// True when `node` is an element whose local name is `name`.
bool is_element(const XmlNode* node, std::string_view name);
/// The first child element named `name`, or nullptr.
XmlNode* child(const XmlNode* node, std::string_view name);
/// The child elements named `name`, in order.
std::vector<XmlNode*> children(const XmlNode* node, std::string_view name);
/// The value of the attribute whose local name is `name` (any namespace), or "".
std::string attribute(const XmlNode* node, std::string_view name);
/// The value of xml:base on `node`, or "".
std::string xml_base(const XmlNode* node);
/// The concatenated text of `node`'s descendants.
std::string text_of(const XmlNode* node);

}  // namespace gen::content
