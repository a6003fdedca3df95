#include "openai_provider.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <set>
#include <vector>

#include <gen/analysis/analyzer.hpp>
#include <gen/egress/address_policy.hpp>
#include <gen/sdk/json.hpp>

#include "llm_http.hpp"
#include "text_model.hpp"

namespace gen::meta {
namespace {

using nlohmann::json;
using sdk::Status;

constexpr std::size_t kMaxKeywordChars = 100;
constexpr std::size_t kMaxQuestionChars = 500;
constexpr std::size_t kMaxChoiceChars = 200;
constexpr std::size_t kMinChoices = 3;
constexpr std::size_t kMaxChoices = 5;

// "1843" -> "1,843", for messages about lengths.
std::string grouped(std::size_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// About 4 characters per token (docs/content.md): the estimate the segments carry.
std::size_t estimate_tokens(std::string_view text) {
  return (code_points(text) + 3) / 4;
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trimmed(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::string property_of(std::string_view field) {
  return field == "KEYWORDS" ? "keywords" : lower_ascii(field);
}

std::size_t text_limit(std::string_view field) {
  if (field == "TITLE") return kTitleMaxChars;
  if (field == "PLUG") return kPlugMaxChars;
  if (field == "BLURB") return kBlurbMaxChars;
  return kSummaryMaxChars;
}

bool is_text_field(std::string_view field) {
  return field == "TITLE" || field == "PLUG" || field == "BLURB" || field == "SUMMARY";
}

// --- prompts ----------------------------------------------------------------------------------

const char* kCommonRules =
    " Write in the language of the document. Use only what the text says. Answer with JSON "
    "matching the given schema and nothing else.";

std::string field_rules(std::string_view field, const FieldOptions& options) {
  if (field == "TITLE") {
    return "You write the catalogue title of a document: one line of at most 120 characters, "
           "without quotes and without a final full stop.";
  }
  if (field == "PLUG") {
    return "You write the plug of a document for a catalogue: exactly one sentence of at most "
           "200 characters that tells a reader what the document gives them.";
  }
  if (field == "BLURB") {
    return "You write the blurb of a document for a catalogue: 2 to 3 sentences, at most 600 "
           "characters in all.";
  }
  if (field == "SUMMARY") {
    return "You summarise a document: one paragraph (no line breaks) of at most 1200 "
           "characters covering its main points.";
  }
  if (field == "KEYWORDS") {
    return "You choose the keywords of a document: between 5 and " +
           std::to_string(options.max_keywords) +
           " distinct terms or short phrases (at most 100 characters each), each of which "
           "occurs word for word in the text, most characteristic first.";
  }
  return "You write multiple-choice questions that test the understanding of a document: "
         "between 1 and " +
         std::to_string(options.question_count) + " questions, each with exactly " +
         std::to_string(options.choice_count) +
         " distinct choices (3 to 5 allowed) of which exactly one is correct; correct_index "
         "is the 0-based index of the correct choice. Questions at most 500 characters, "
         "choices at most 200. Each question must be answerable from the text.";
}

std::string map_rules(std::string_view field, const FieldOptions& options) {
  if (is_text_field(field)) {
    return "You summarise one part of a longer document: one paragraph (no line breaks) of "
           "at most 1200 characters keeping the points that matter for the whole.";
  }
  return field_rules(field, options) + " The text is one part of a longer document.";
}

std::string reduce_rules(std::string_view field, const FieldOptions& options) {
  if (is_text_field(field)) {
    return field_rules(field, options) +
           " The text you get is made of summaries of the document's consecutive parts.";
  }
  if (field == "KEYWORDS") {
    return "You choose the keywords of a document from candidates found in its parts: "
           "between 5 and " +
           std::to_string(options.max_keywords) +
           " distinct candidates that best describe the whole document, spelt exactly as "
           "given, most characteristic first.";
  }
  return "You choose the best multiple-choice questions about a document from candidates "
         "written for its parts (given as JSON): between 1 and " +
         std::to_string(options.question_count) +
         " questions covering the whole document, each kept exactly as given (question, "
         "choices, correct_index).";
}

// --- schemas ----------------------------------------------------------------------------------

json object_of(const std::string& name, json property) {
  return {{"type", "object"},
          {"properties", {{name, std::move(property)}}},
          {"required", {name}},
          {"additionalProperties", false}};
}

json questions_schema() {
  json question = {
      {"type", "object"},
      {"properties",
       {{"question", {{"type", "string"}, {"description", "At most 500 characters."}}},
        {"choices",
         {{"type", "array"},
          {"items", {{"type", "string"}}},
          {"description", "3 to 5 distinct choices of at most 200 characters."}}},
        {"correct_index",
         {{"type", "integer"}, {"description", "0-based index of the one correct choice."}}}}},
      {"required", {"question", "choices", "correct_index"}},
      {"additionalProperties", false}};
  return {{"type", "array"}, {"items", std::move(question)}};
}

// --- checking answers ---------------------------------------------------------------------------

// Occurrence of a keyword in the text: case-insensitive (ASCII) over whitespace-collapsed text.
class TextIndex {
 public:
  explicit TextIndex(std::string_view text) : text_(lower_ascii(collapse_whitespace(text))) {}
  bool contains(std::string_view term) const {
    const std::string t = lower_ascii(collapse_whitespace(term));
    return !t.empty() && text_.find(t) != std::string::npos;
  }

 private:
  std::string text_;
};

std::optional<std::string> check_text(std::string_view field, const json& value, json& out) {
  if (!value.is_string()) return "value: expected a string, got " + std::string(value.type_name());
  const std::string& raw = value.get_ref<const std::string&>();
  if (field == "SUMMARY" && raw.find("\n\n") != std::string::npos) {
    return "value is more than one paragraph";
  }
  if (field == "TITLE" && trimmed(raw).find('\n') != std::string::npos) {
    return "value is more than one line";
  }
  const std::string text = collapse_whitespace(raw);
  if (text.empty()) return "value is empty";
  const std::size_t length = code_points(text);
  const std::size_t limit = text_limit(field);
  if (length > limit) {
    return "value is " + grouped(length) + " characters, the limit is " + grouped(limit);
  }
  if (field == "PLUG" || field == "BLURB") {
    const std::size_t count = analysis::sentences(text).size();
    const std::size_t low = field == "PLUG" ? 1 : 2;
    const std::size_t high = field == "PLUG" ? 1 : 3;
    if (count < low || count > high) {
      return "value has " + std::to_string(count) + " sentences, " +
             (field == "PLUG" ? std::string("one is required") : std::string("2 to 3 are")) + "";
    }
  }
  out = text;
  return std::nullopt;
}

std::optional<std::string> check_keywords(const json& value, const FieldOptions& options,
                                          const TextIndex* text, json& out) {
  if (!value.is_array()) return "value: expected an array, got " + std::string(value.type_name());
  if (text != nullptr && (value.size() < kMinKeywords || value.size() > options.max_keywords)) {
    return "value has " + std::to_string(value.size()) + " keywords, " +
           std::to_string(kMinKeywords) + " to " + std::to_string(options.max_keywords) +
           " are required";
  }
  out = json::array();
  std::set<std::string> seen;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const std::string where = "keywords[" + std::to_string(i) + "]";
    if (!value[i].is_string()) {
      return where + ": expected a string, got " + std::string(value[i].type_name());
    }
    const std::string term = collapse_whitespace(value[i].get_ref<const std::string&>());
    if (term.empty()) return where + " is empty";
    if (code_points(term) > kMaxKeywordChars) {
      return where + " is " + grouped(code_points(term)) + " characters, the limit is " +
             std::to_string(kMaxKeywordChars);
    }
    if (!seen.insert(lower_ascii(term)).second) {
      if (text == nullptr) continue;  // a map call's candidates: the repeat is dropped
      return where + " '" + term + "' is repeated";
    }
    if (text != nullptr && !text->contains(term)) {
      return where + " '" + term + "' does not occur in the text";
    }
    out.push_back(term);
  }
  return std::nullopt;
}

std::optional<std::string> check_questions(const json& value, const FieldOptions& options,
                                           json& out) {
  if (!value.is_array()) return "value: expected an array, got " + std::string(value.type_name());
  if (value.empty() || value.size() > options.question_count) {
    return "value has " + std::to_string(value.size()) + " questions, 1 to " +
           std::to_string(options.question_count) + " are required";
  }
  out = json::array();
  for (std::size_t i = 0; i < value.size(); ++i) {
    const std::string where = "questions[" + std::to_string(i) + "]";
    const json& q = value[i];
    if (!q.is_object()) return where + ": expected an object, got " + std::string(q.type_name());
    for (const auto& [key, unused] : q.items()) {
      if (key != "question" && key != "choices" && key != "correct_index") {
        return where + ": unexpected property '" + key + "'";
      }
    }
    auto question = q.find("question");
    if (question == q.end() || !question->is_string()) {
      return where + ".question: expected a string";
    }
    const std::string text = collapse_whitespace(question->get_ref<const std::string&>());
    if (text.empty()) return where + ".question is empty";
    if (code_points(text) > kMaxQuestionChars) {
      return where + ".question is " + grouped(code_points(text)) + " characters, the limit is " +
             std::to_string(kMaxQuestionChars);
    }
    auto choices = q.find("choices");
    if (choices == q.end() || !choices->is_array()) return where + ".choices: expected an array";
    if (choices->size() < kMinChoices || choices->size() > kMaxChoices) {
      return where + ".choices has " + std::to_string(choices->size()) +
             " choices, 3 to 5 are required";
    }
    json clean = json::array();
    std::set<std::string> seen;
    for (std::size_t c = 0; c < choices->size(); ++c) {
      const std::string at = where + ".choices[" + std::to_string(c) + "]";
      if (!(*choices)[c].is_string()) return at + ": expected a string";
      const std::string choice = collapse_whitespace((*choices)[c].get_ref<const std::string&>());
      if (choice.empty()) return at + " is empty";
      if (code_points(choice) > kMaxChoiceChars) {
        return at + " is " + grouped(code_points(choice)) + " characters, the limit is " +
               std::to_string(kMaxChoiceChars);
      }
      if (!seen.insert(lower_ascii(choice)).second) return at + " '" + choice + "' is repeated";
      clean.push_back(choice);
    }
    auto correct = q.find("correct_index");
    if (correct == q.end() || !correct->is_number_integer()) {
      return where + ".correct_index: expected an integer";
    }
    const long long index = correct->get<long long>();
    if (index < 0 || index >= static_cast<long long>(clean.size())) {
      return where + ".correct_index is " + std::to_string(index) + ", not an index of its " +
             std::to_string(clean.size()) + " choices";
    }
    out.push_back({{"question", text}, {"choices", std::move(clean)}, {"correct_index", index}});
  }
  return std::nullopt;
}

// The answer's one property, refusing others (the strict schema forbids them).
std::optional<std::string> the_property(const json& answer, const std::string& name,
                                        const json*& value) {
  if (!answer.is_object()) {
    return "expected a JSON object, got " + std::string(answer.type_name());
  }
  for (const auto& [key, unused] : answer.items()) {
    if (key != name) return "unexpected property '" + key + "'";
  }
  auto it = answer.find(name);
  if (it == answer.end()) return "missing property '" + name + "'";
  value = &*it;
  return std::nullopt;
}

// --- the conversation ---------------------------------------------------------------------------

struct Endpoint {
  egress::Target target;
  std::string model;
  std::string api_key;
  std::chrono::milliseconds timeout{kDefaultLlmTimeoutMs};
};

class Conversation {
 public:
  Conversation(sdk::Context& ctx, Endpoint endpoint, std::string field)
      : ctx_(ctx), endpoint_(std::move(endpoint)), field_(std::move(field)) {}

  /// One chat completion; `answer` is the parsed JSON content. `what` names the call in
  /// messages ("map call 2 of 5"; empty for the only or final call).
  Status ask(const std::string& system, const std::string& user, const std::string& schema_name,
             const json& schema, const std::string& what, json& answer) {
    const json request = {
        {"model", endpoint_.model},
        {"messages",
         {{{"role", "system"}, {"content", system}}, {{"role", "user"}, {"content", user}}}},
        {"response_format",
         {{"type", "json_schema"},
          {"json_schema", {{"name", schema_name}, {"strict", true}, {"schema", schema}}}}},
        {"temperature", 0}};
    ++calls_;
    HttpOutcome http =
        post_json(endpoint_.target, request.dump(-1, ' ', false, json::error_handler_t::replace),
                  endpoint_.api_key, endpoint_.timeout, [this] { return ctx_.cancelled(); });
    const std::string prefix = "meta.generate " + field_ + (what.empty() ? "" : " (" + what + ")");
    if (http.kind == HttpOutcome::Kind::kRetryable)
      return Status::retryable(prefix + ": " + http.error);
    if (http.kind == HttpOutcome::Kind::kPermanent)
      return Status::permanent(prefix + ": " + http.error);

    const std::string invalid = "the model's answer for " + field_ +
                                (what.empty() ? "" : " (" + what + ")") + " is not valid: ";
    sdk::JsonLimits limits;
    limits.max_depth = 32;
    limits.max_values = 200'000;
    sdk::JsonParseResult envelope = sdk::parse_json(http.body, limits);
    if (!envelope) {
      return Status::permanent(
          prefix + ": the LLM endpoint's answer is not JSON: " + envelope.error->describe());
    }
    const json& v = envelope.value;
    const json* message = nullptr;
    if (v.is_object()) {
      auto choices = v.find("choices");
      if (choices != v.end() && choices->is_array() && !choices->empty() &&
          (*choices)[0].is_object()) {
        const json& choice = (*choices)[0];
        if (choice.value("finish_reason", json()) == "length") {
          return Status::permanent(invalid + "cut at the model's output token limit");
        }
        if (auto m = choice.find("message"); m != choice.end() && m->is_object()) message = &*m;
      }
    }
    if (message == nullptr) {
      return Status::permanent(prefix +
                               ": the LLM endpoint's answer has no choices[0].message (not a "
                               "chat completion)");
    }
    if (auto refusal = message->find("refusal");
        refusal != message->end() && refusal->is_string()) {
      return Status::permanent(invalid + "the model refused: " +
                               collapse_whitespace(refusal->get_ref<const std::string&>()));
    }
    auto content = message->find("content");
    if (content == message->end() || !content->is_string()) {
      return Status::permanent(invalid + "choices[0].message.content is not a string");
    }
    limits.max_depth = 8;
    limits.max_values = 10'000;
    sdk::JsonParseResult parsed = sdk::parse_json(content->get_ref<const std::string&>(), limits);
    if (!parsed) return Status::permanent(invalid + "not JSON: " + parsed.error->describe());
    answer = std::move(parsed.value);
    return Status::ok();
  }

  int calls() const { return calls_; }
  const std::string& field() const { return field_; }

 private:
  sdk::Context& ctx_;
  Endpoint endpoint_;
  std::string field_;
  int calls_ = 0;
};

// --- chunking -----------------------------------------------------------------------------------

struct Piece {
  std::string text;
  std::size_t tokens = 0;
};

// Splits `text` at white space into pieces of about `budget` tokens (4 bytes a token; a run
// without white space is cut where it must, after a whole UTF-8 sequence).
void split_oversized(std::string_view text, std::size_t budget, std::vector<Piece>& out) {
  const std::size_t max_bytes = budget * 4;
  while (!text.empty()) {
    std::size_t cut = std::min(text.size(), max_bytes);
    if (cut < text.size()) {
      const std::size_t space = text.substr(0, cut).find_last_of(" \t\r\n");
      if (space != std::string_view::npos && space > max_bytes / 2) {
        cut = space + 1;
      } else {
        while (cut > 1 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
      }
    }
    std::string part = trimmed(text.substr(0, cut));
    if (!part.empty()) out.push_back({part, estimate_tokens(part)});
    text.remove_prefix(cut);
  }
}

// The document's segments as pieces, with their `tokens` estimates when they carry one.
std::vector<Piece> document_pieces(const Document& document, std::size_t budget) {
  std::vector<Piece> out;
  const json& segments = document.json.at("segments");
  for (std::size_t i = 0; i < document.segments.size(); ++i) {
    const std::string_view text = document.segments[i].text;
    if (trimmed(text).empty()) continue;
    std::size_t tokens = estimate_tokens(text);
    if (i < segments.size()) {
      auto it = segments[i].find("tokens");
      if (it != segments[i].end() && it->is_number_integer() && it->get<long long>() >= 0) {
        tokens = static_cast<std::size_t>(it->get<long long>());
      }
    }
    if (tokens > budget) {
      split_oversized(text, budget, out);
    } else {
      out.push_back({std::string(text), tokens});
    }
  }
  return out;
}

// Consecutive pieces joined by blank lines, each chunk at most `budget` tokens.
std::vector<std::string> chunk(const std::vector<Piece>& pieces, std::size_t budget) {
  std::vector<std::string> chunks;
  std::string current;
  std::size_t tokens = 0;
  for (const Piece& p : pieces) {
    if (!current.empty() && tokens + p.tokens > budget) {
      chunks.push_back(std::move(current));
      current.clear();
      tokens = 0;
    }
    if (!current.empty()) current += "\n\n";
    current += p.text;
    tokens += p.tokens;
  }
  if (!current.empty()) chunks.push_back(std::move(current));
  return chunks;
}

std::string document_message(const Document& document, const std::string& text) {
  std::string out;
  if (!document.title.empty()) out += "Title: " + std::string(document.title) + "\n\n";
  return out + "Text:\n" + text;
}

std::string call_name(const char* kind, std::size_t i, std::size_t n) {
  return std::string(kind) + " call " + std::to_string(i + 1) + " of " + std::to_string(n);
}

Status progress_or_stop(sdk::Context& ctx, std::size_t done, std::size_t total) {
  ctx.progress(static_cast<double>(done) / static_cast<double>(total + 1));
  if (ctx.cancelled()) {
    return Status::retryable(
        "meta.generate: stopped: the job was cancelled or its time limit passed");
  }
  return Status::ok();
}

}  // namespace

json answer_schema(std::string_view field, const FieldOptions& options) {
  const std::string name = property_of(field);
  if (is_text_field(field)) {
    std::string description;
    if (field == "TITLE") description = "One line, at most 120 characters.";
    if (field == "PLUG") description = "Exactly one sentence, at most 200 characters.";
    if (field == "BLURB") description = "2 to 3 sentences, at most 600 characters.";
    if (field == "SUMMARY") description = "One paragraph, at most 1200 characters.";
    return object_of(name, {{"type", "string"}, {"description", description}});
  }
  if (field == "KEYWORDS") {
    return object_of(name, {{"type", "array"},
                            {"items", {{"type", "string"}}},
                            {"description", "5 to " + std::to_string(options.max_keywords) +
                                                " distinct terms occurring in the text."}});
  }
  return object_of(name, questions_schema());
}

// Hand-written rather than a JSON Schema library: the six schemas are fixed and small, strict
// mode leaves the limits (lengths, counts, sentences, keywords occurring in the text) to
// descriptions that no schema keyword could check anyway, and the messages name the rule.
std::optional<std::string> validate_answer(std::string_view field, const json& answer,
                                           const FieldOptions& options, std::string_view text,
                                           json& out) {
  const json* value = nullptr;
  if (auto problem = the_property(answer, property_of(field), value)) return problem;
  if (is_text_field(field)) return check_text(field, *value, out);
  if (field == "KEYWORDS") {
    const TextIndex index(text);
    return check_keywords(*value, options, &index, out);
  }
  return check_questions(*value, options, out);
}

Status openai_field(sdk::Context& ctx, std::string_view field_view, const Document& document,
                    const FieldOptions& options, long long max_prompt_tokens, FieldValue& out) {
  const std::string field(field_view);
  // The settings, for the job's tenant.
  Endpoint endpoint;
  const std::string url = trimmed(ctx.setting(kLlmUrlSetting).value_or(""));
  if (url.empty()) {
    return Status::permanent("meta.generate: provider openai: the setting " +
                             std::string(kLlmUrlSetting) +
                             " is not set (the base URL of an OpenAI-compatible API, e.g. "
                             "https://api.openai.com/v1; PUT /api/v1/config/" +
                             std::string(kLlmUrlSetting) + ")");
  }
  endpoint.model = trimmed(ctx.setting(kLlmModelSetting).value_or(""));
  if (endpoint.model.empty()) {
    return Status::permanent("meta.generate: provider openai: the setting " +
                             std::string(kLlmModelSetting) + " is not set (the model to ask for)");
  }
  endpoint.api_key = trimmed(ctx.setting(kLlmApiKeySetting).value_or(""));
  if (auto timeout = ctx.setting(kLlmTimeoutSetting); timeout && !timeout->empty()) {
    char* end = nullptr;
    const long long ms = std::strtoll(timeout->c_str(), &end, 10);
    if (end == timeout->c_str() || *end != '\0' || ms < 1 || ms > 3'600'000) {
      return Status::permanent("meta.generate: provider openai: the setting " +
                               std::string(kLlmTimeoutSetting) + " is not a time in ms: '" +
                               *timeout + "'");
    }
    endpoint.timeout = std::chrono::milliseconds(ms);
  }

  // The endpoint under the webhooks' address rule, with the worker's allow-list.
  egress::Policy policy;
  const char* allow = std::getenv(kAllowHostsVariable.data());
  if (auto problem = egress::Policy::parse(allow == nullptr ? "" : allow, policy)) {
    return Status::permanent("meta.generate: " + std::string(kAllowHostsVariable) + ": " +
                             *problem);
  }
  const std::string base = url.back() == '/' ? url.substr(0, url.size() - 1) : url;
  if (auto problem = policy.check(base + "/chat/completions", "LLM endpoints", endpoint.target)) {
    const std::string message =
        "meta.generate: provider openai: " + std::string(kLlmUrlSetting) + ": " + *problem;
    // A name that does not resolve now may resolve later; every other refusal stays.
    if (problem->starts_with("cannot resolve")) return Status::retryable(message);
    return Status::permanent(message);
  }

  // The chunks under the budget.
  const std::size_t budget = static_cast<std::size_t>(max_prompt_tokens);
  const std::vector<Piece> pieces = document_pieces(document, budget);
  if (pieces.empty())
    return Status::permanent("meta.generate " + field + ": the document has no text");
  const std::vector<std::string> chunks = chunk(pieces, budget);
  if (chunks.size() > kMaxLlmChunks) {
    return Status::permanent("meta.generate " + field + ": the document makes " +
                             std::to_string(chunks.size()) + " chunks of at most " +
                             grouped(budget) + " tokens, more than " +
                             std::to_string(kMaxLlmChunks) + " (raise params.max_prompt_tokens)");
  }
  const std::string text = joined_text(document);
  Conversation llm(ctx, endpoint, field);
  const std::string name = "metadata_" + lower_ascii(field);
  const json schema = answer_schema(field, options);
  const std::string common = kCommonRules;
  json answer;
  const std::string invalid = "the model's answer for " + field + " is not valid: ";

  if (chunks.size() == 1) {
    if (Status s = llm.ask(field_rules(field, options) + common,
                           document_message(document, chunks.front()), name, schema, "", answer);
        !s.is_ok()) {
      return s;
    }
  } else if (is_text_field(field)) {
    // Map: a summary per chunk; reduce: the field over the summaries, in rounds while they
    // exceed the budget (each round at least thirds their number: a summary is at most 1200
    // characters, some 300 tokens, and the budget at least 1000).
    const json map_schema = answer_schema("SUMMARY", options);
    std::vector<std::string> parts = chunks;
    for (int round = 1;; ++round) {
      std::vector<Piece> summaries;
      for (std::size_t i = 0; i < parts.size(); ++i) {
        if (Status s = progress_or_stop(ctx, static_cast<std::size_t>(llm.calls()), chunks.size());
            !s.is_ok()) {
          return s;
        }
        const std::string what = (round == 1 ? call_name("map", i, parts.size())
                                             : call_name("reduce round", i, parts.size()));
        json part;
        if (Status s =
                llm.ask(map_rules(field, options) + common, document_message(document, parts[i]),
                        "metadata_part_summary", map_schema, what, part);
            !s.is_ok()) {
          return s;
        }
        json value;
        if (auto problem = validate_answer("SUMMARY", part, options, {}, value)) {
          return Status::permanent("the model's answer for " + field + " (" + what +
                                   ") is not valid: " + *problem);
        }
        summaries.push_back({"Part " + std::to_string(i + 1) + ": " + value.get<std::string>(),
                             estimate_tokens(value.get_ref<const std::string&>())});
      }
      parts = chunk(summaries, budget);
      if (parts.size() == 1) break;
    }
    if (Status s = progress_or_stop(ctx, static_cast<std::size_t>(llm.calls()), chunks.size());
        !s.is_ok()) {
      return s;
    }
    if (Status s = llm.ask(reduce_rules(field, options) + common,
                           document_message(document, parts.front()), name, schema, "", answer);
        !s.is_ok()) {
      return s;
    }
  } else {
    // Map: candidates per chunk (KEYWORDS: those occurring in the chunk; QUESTIONS: as
    // valid); reduce: one call choosing the final set among them.
    std::vector<std::string> keywords;
    std::set<std::string> seen;
    std::vector<std::vector<json>> questions(chunks.size());
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      if (Status s = progress_or_stop(ctx, static_cast<std::size_t>(llm.calls()), chunks.size());
          !s.is_ok()) {
        return s;
      }
      const std::string what = call_name("map", i, chunks.size());
      json part;
      if (Status s = llm.ask(map_rules(field, options) + common,
                             document_message(document, chunks[i]), name, schema, what, part);
          !s.is_ok()) {
        return s;
      }
      const json* value = nullptr;
      json clean;
      std::optional<std::string> problem = the_property(part, property_of(field), value);
      if (!problem) {
        problem = field == "KEYWORDS" ? check_keywords(*value, options, nullptr, clean)
                                      : check_questions(*value, options, clean);
      }
      if (problem) {
        return Status::permanent("the model's answer for " + field + " (" + what +
                                 ") is not valid: " + *problem);
      }
      const TextIndex chunk_text(chunks[i]);
      for (json& item : clean) {
        if (field == "KEYWORDS") {
          const std::string term = item.get<std::string>();
          if (chunk_text.contains(term) && seen.insert(lower_ascii(term)).second) {
            keywords.push_back(term);
          }
        } else {
          questions[i].push_back(std::move(item));
        }
      }
    }
    std::string candidates;
    if (field == "KEYWORDS") {
      if (keywords.size() < kMinKeywords) {
        return Status::permanent(invalid + "its " + std::to_string(chunks.size()) +
                                 " map calls found " + std::to_string(keywords.size()) +
                                 " distinct keywords occurring in the text, fewer than " +
                                 std::to_string(kMinKeywords));
      }
      candidates = "Candidate keywords:\n";
      for (const std::string& k : keywords) candidates += k + "\n";
    } else {
      // Round robin over the chunks, within the budget: every part is represented.
      json list = json::array();
      std::size_t tokens = 0;
      for (std::size_t round = 0, added = 1; added > 0; ++round) {
        added = 0;
        for (auto& per_chunk : questions) {
          if (round >= per_chunk.size()) continue;
          const std::size_t t = estimate_tokens(per_chunk[round].dump());
          if (tokens + t > budget) continue;
          tokens += t;
          list.push_back(per_chunk[round]);
          ++added;
        }
      }
      if (list.empty()) return Status::permanent(invalid + "the map calls gave no question");
      candidates =
          "Candidate questions:\n" + list.dump(-1, ' ', false, json::error_handler_t::replace);
    }
    if (Status s = progress_or_stop(ctx, static_cast<std::size_t>(llm.calls()), chunks.size());
        !s.is_ok()) {
      return s;
    }
    if (Status s =
            llm.ask(reduce_rules(field, options) + common, candidates, name, schema, "", answer);
        !s.is_ok()) {
      return s;
    }
  }

  json value;
  if (auto problem = validate_answer(field, answer, options, text, value)) {
    return Status::permanent(invalid + *problem);
  }
  out.value = std::move(value);
  out.method = "openai:" + endpoint.model;
  return Status::ok();
}

}  // namespace gen::meta
