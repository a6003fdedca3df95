#include "xml.hpp"

#include <cstring>
#include <memory>
#include <mutex>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

namespace gen::content {

namespace {

/// What the callbacks of the parse running on this thread report into. libxml2's callbacks
/// carry the parser context, but xmlCtxtReadMemory resets its _private field: a
/// thread_local is the place the callbacks can always reach.
struct ParseReport {
  bool doctype = false;
  std::string first_error;
  int first_error_line = 0;
};
thread_local ParseReport* current_report = nullptr;

void on_internal_subset(void* context, const xmlChar*, const xmlChar*, const xmlChar*) {
  if (current_report != nullptr) current_report->doctype = true;
  xmlStopParser(static_cast<xmlParserCtxtPtr>(context));  // the subset itself is never read
}

void on_error(void*, xmlErrorPtr error) {
  if (current_report == nullptr || error == nullptr || !current_report->first_error.empty()) {
    return;
  }
  if (error->level < XML_ERR_ERROR) return;
  std::string message = error->message != nullptr ? error->message : "unknown error";
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.pop_back();
  }
  current_report->first_error = message;
  current_report->first_error_line = error->line;
}

/// Routes the thread's libxml2 errors (those raised outside the parser context too) to
/// on_error for the duration of one parse. libxml2 keeps this handler per thread.
class ErrorHandlerScope {
 public:
  ErrorHandlerScope()
      : previous_(xmlStructuredError), previous_context_(xmlStructuredErrorContext) {
    xmlSetStructuredErrorFunc(nullptr, &on_error);
  }
  ~ErrorHandlerScope() { xmlSetStructuredErrorFunc(previous_context_, previous_); }
  ErrorHandlerScope(const ErrorHandlerScope&) = delete;
  ErrorHandlerScope& operator=(const ErrorHandlerScope&) = delete;

 private:
  xmlStructuredErrorFunc previous_;
  void* previous_context_;
};

std::string_view local_name(const xmlChar* name) {
  return name == nullptr ? std::string_view() : reinterpret_cast<const char*>(name);
}

}  // namespace

XmlDocument::~XmlDocument() {
  if (doc_ != nullptr) xmlFreeDoc(doc_);
}

XmlNode* XmlDocument::root() const {
  return xmlDocGetRootElement(doc_);
}

XmlDocument parse_xml(Job& job, std::string_view data, const std::string& part) {
  static std::once_flag init;
  std::call_once(init, [] { xmlInitParser(); });
  if (data.size() > static_cast<std::size_t>(INT32_MAX)) job.fail(part + " is too large");

  ParseReport report;
  current_report = &report;
  ErrorHandlerScope errors;
  std::unique_ptr<xmlParserCtxt, decltype(&xmlFreeParserCtxt)> context(xmlNewParserCtxt(),
                                                                       &xmlFreeParserCtxt);
  if (!context) {
    current_report = nullptr;
    throw std::bad_alloc();
  }
  context->sax->internalSubset = &on_internal_subset;
  context->sax->serror = &on_error;
  xmlDocPtr doc = xmlCtxtReadMemory(context.get(), data.data(), static_cast<int>(data.size()),
                                    part.c_str(), nullptr, XML_PARSE_NONET | XML_PARSE_NOCDATA);
  const bool well_formed = context->wellFormed != 0;
  current_report = nullptr;
  XmlDocument document(doc);
  if (report.doctype) {
    job.fail(part +
             " has a DOCTYPE, which this kind of file never has: refused (entity "
             "expansion and external entities are attacks through a DTD)");
  }
  if (doc == nullptr || !well_formed || document.root() == nullptr) {
    std::string message = part + " is not well-formed XML";
    if (!report.first_error.empty()) {
      message += " (line " + std::to_string(report.first_error_line) + "): " + report.first_error;
    }
    job.fail(message);
  }
  return document;
}

bool is_element(const XmlNode* node, std::string_view name) {
  return node != nullptr && node->type == XML_ELEMENT_NODE && local_name(node->name) == name;
}

XmlNode* child(const XmlNode* node, std::string_view name) {
  for (XmlNode* c = node->children; c != nullptr; c = c->next) {
    if (is_element(c, name)) return c;
  }
  return nullptr;
}

std::vector<XmlNode*> children(const XmlNode* node, std::string_view name) {
  std::vector<XmlNode*> out;
  for (XmlNode* c = node->children; c != nullptr; c = c->next) {
    if (is_element(c, name)) out.push_back(c);
  }
  return out;
}

std::string attribute(const XmlNode* node, std::string_view name) {
  for (xmlAttr* a = node->properties; a != nullptr; a = a->next) {
    if (local_name(a->name) != name) continue;
    xmlChar* value = xmlNodeListGetString(node->doc, a->children, 1);
    std::string out = value != nullptr ? reinterpret_cast<const char*>(value) : "";
    xmlFree(value);
    return out;
  }
  return {};
}

std::string xml_base(const XmlNode* node) {
  xmlChar* value = xmlGetNsProp(node, reinterpret_cast<const xmlChar*>("base"), XML_XML_NAMESPACE);
  std::string out = value != nullptr ? reinterpret_cast<const char*>(value) : "";
  xmlFree(value);
  return out;
}

std::string text_of(const XmlNode* node) {
  xmlChar* value = xmlNodeGetContent(node);
  std::string out = value != nullptr ? reinterpret_cast<const char*>(value) : "";
  xmlFree(value);
  return out;
}

}  // namespace gen::content
