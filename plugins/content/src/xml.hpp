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
//
// Memory: libxml2's tree takes 15-50x the XML (a node is 120 bytes, an attribute 96 plus its
// text node; 60 MB of attribute-heavy XML took 2.8 GB and 47 s). So a tree is built only for
// small parts (styles, core properties, manifests: parse_xml, within max_xml_part_bytes and
// max_xml_markup), and the large one (word/document.xml) is streamed (stream_xml: SAX, memory
// independent of its size).
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
  /// Gives up ownership.
  _xmlDoc* release() {
    _xmlDoc* doc = doc_;
    doc_ = nullptr;
    return doc;
  }

 private:
  _xmlDoc* doc_;
};

/// Parses `data` into a tree as described above. `part` names it in messages
/// ("word/styles.xml"). Throws BadInput through `job`: over Limits::max_xml_part_bytes or
/// Limits::max_xml_markup (counted before parsing), not well-formed (with the line and
/// libxml2's reason), or a DOCTYPE.
XmlDocument parse_xml(Job& job, std::string_view data, const std::string& part);

/// The attributes of a start tag, as libxml2's SAX2 hands them over.
class XmlAttributes {
 public:
  XmlAttributes(const unsigned char** raw, int count) : raw_(raw), count_(count) {}
  /// The value of the attribute whose local name is `name` (any namespace), or "".
  std::string value(std::string_view name) const;

 private:
  const unsigned char** raw_;  // 5 pointers per attribute: local name, prefix, URI, begin, end
  int count_;
};

/// What stream_xml() reports, in document order. An exception thrown by a handler stops the
/// parse and is rethrown by stream_xml() (never through libxml2's C frames).
class XmlHandler {
 public:
  virtual ~XmlHandler() = default;
  virtual void start(std::string_view local_name, const XmlAttributes& attributes) = 0;
  virtual void end(std::string_view local_name) = 0;
  virtual void text(std::string_view characters) = 0;
};

/// Parses `data` without building a tree, reporting elements and text to `handler`; the same
/// safety and errors as parse_xml, without the size limits (the caller bounds `data`).
void stream_xml(Job& job, std::string_view data, const std::string& part, XmlHandler& handler);

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
