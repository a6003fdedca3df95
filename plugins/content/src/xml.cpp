#include "xml.hpp"

#include <algorithm>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "bounded_decode.hpp"  // gen::pdf::describe_size

namespace gen::content {

namespace {

/// What the callbacks of the parse running on this thread report into. libxml2's callbacks
/// carry the parser context, but xmlCtxtReadMemory resets its _private field: a
/// thread_local is the place the callbacks can always reach.
struct ParseReport {
  bool doctype = false;
  std::string first_error;
  int first_error_line = 0;
  XmlHandler* handler = nullptr;  // stream_xml only
  std::exception_ptr handler_error;
  xmlParserCtxtPtr context = nullptr;
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

/// A handler's exception, kept for stream_xml() to rethrow once libxml2 has returned.
template <typename Body>
void guarded(Body&& body) {
  ParseReport* report = current_report;
  if (report == nullptr || report->handler_error) return;
  try {
    body(*report->handler);
  } catch (...) {
    report->handler_error = std::current_exception();
    xmlStopParser(report->context);
  }
}

void on_start(void*, const xmlChar* local, const xmlChar*, const xmlChar*, int, const xmlChar**,
              int attribute_count, int, const xmlChar** attributes) {
  guarded([&](XmlHandler& handler) {
    handler.start(local_name(local), XmlAttributes(attributes, attribute_count));
  });
}

void on_end(void*, const xmlChar* local, const xmlChar*, const xmlChar*) {
  guarded([&](XmlHandler& handler) { handler.end(local_name(local)); });
}

void on_characters(void*, const xmlChar* characters, int length) {
  guarded([&](XmlHandler& handler) {
    handler.text(std::string_view(reinterpret_cast<const char*>(characters),
                                  static_cast<std::size_t>(length)));
  });
}

/// Runs libxml2 over `data` with the safe options; with `handler`, as a SAX stream that
/// builds no tree. Returns the document (an empty one when streaming); throws BadInput.
xmlDocPtr run_parser(Job& job, std::string_view data, const std::string& part,
                     XmlHandler* handler) {
  static std::once_flag init;
  std::call_once(init, [] { xmlInitParser(); });
  if (data.size() > static_cast<std::size_t>(INT32_MAX)) job.fail(part + " is too large");

  ParseReport report;
  report.handler = handler;
  std::unique_ptr<xmlParserCtxt, decltype(&xmlFreeParserCtxt)> context(xmlNewParserCtxt(),
                                                                       &xmlFreeParserCtxt);
  if (!context) throw std::bad_alloc();
  report.context = context.get();
  xmlSAXHandler* sax = context->sax;
  sax->internalSubset = &on_internal_subset;
  sax->serror = &on_error;
  if (handler != nullptr) {
    sax->startElementNs = &on_start;
    sax->endElementNs = &on_end;
    sax->characters = &on_characters;
    sax->cdataBlock = &on_characters;
    sax->ignorableWhitespace = &on_characters;
    sax->comment = nullptr;
    sax->processingInstruction = nullptr;
  }
  xmlDocPtr doc;
  bool well_formed;
  {
    current_report = &report;
    ErrorHandlerScope errors;
    doc = xmlCtxtReadMemory(context.get(), data.data(), static_cast<int>(data.size()), part.c_str(),
                            nullptr, XML_PARSE_NONET | XML_PARSE_NOCDATA);
    well_formed = context->wellFormed != 0;
    current_report = nullptr;
  }
  XmlDocument owner(doc);  // freed on every refusal below
  if (report.doctype) {
    job.fail(part +
             " has a DOCTYPE, which this kind of file never has: refused (entity "
             "expansion and external entities are attacks through a DTD)");
  }
  if (report.handler_error) std::rethrow_exception(report.handler_error);
  if (doc == nullptr || !well_formed || (handler == nullptr && owner.root() == nullptr)) {
    std::string message = part + " is not well-formed XML";
    if (!report.first_error.empty()) {
      message += " (line " + std::to_string(report.first_error_line) + "): " + report.first_error;
    }
    job.fail(message);
  }
  return owner.release();
}

}  // namespace

XmlDocument::~XmlDocument() {
  if (doc_ != nullptr) xmlFreeDoc(doc_);
}

XmlNode* XmlDocument::root() const {
  return xmlDocGetRootElement(doc_);
}

XmlDocument parse_xml(Job& job, std::string_view data, const std::string& part) {
  const Limits& limits = job.limits();
  if (data.size() > limits.max_xml_part_bytes) {
    job.fail(part + " is " + std::to_string(data.size()) + " bytes, more than " +
             pdf::describe_size(limits.max_xml_part_bytes) + " (the limit for this part)");
  }
  // Tags and attributes, each a node of the tree: '<' and '=' bound them from above.
  const auto markup = static_cast<std::size_t>(
      std::count_if(data.begin(), data.end(), [](char c) { return c == '<' || c == '='; }));
  if (markup > limits.max_xml_markup) {
    job.fail(part + " has " + std::to_string(markup) + " tags and attributes, more than " +
             std::to_string(limits.max_xml_markup) + " (the limit for this part)");
  }
  return XmlDocument(run_parser(job, data, part, nullptr));
}

void stream_xml(Job& job, std::string_view data, const std::string& part, XmlHandler& handler) {
  XmlDocument empty(run_parser(job, data, part, &handler));
}

std::string XmlAttributes::value(std::string_view name) const {
  for (int i = 0; i < count_; ++i) {
    const unsigned char* const* a = raw_ + 5 * i;
    if (local_name(a[0]) != name) continue;
    return std::string(reinterpret_cast<const char*>(a[3]), static_cast<std::size_t>(a[4] - a[3]));
  }
  return {};
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
