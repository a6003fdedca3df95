// The content library on each database: import jobs bound to versions, ingestion of their
// steps' outputs at completion (fenced), reading, activation, deletion and search semantics.
// The steps' outputs are written here as the plugins write them; the plugins themselves are
// tested in tests/plugins/, and the whole flow through the services in tests/integration/.
#include "gen/core/content/library.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "database_fixture.hpp"
#include "gen/analysis/analyzer.hpp"
#include "gen/core/base/clock.hpp"
#include "gen/core/base/errors.hpp"

namespace gen::content {
namespace {

struct Doc {
  std::string title;
  std::string language = "en";
  std::vector<std::pair<std::string, std::string>> segments;  // location, text
};

std::string segments_json(const Doc& doc, bool with_terms) {
  nlohmann::json segs = nlohmann::json::array();
  auto lang = analysis::parse_language(doc.language).value();
  for (const auto& [location, text] : doc.segments) {
    nlohmann::json seg = {{"location", location},
                          {"location_kind", "heading"},
                          {"text", text},
                          {"tokens", (text.size() + 3) / 4}};
    if (with_terms) seg["terms"] = analysis::index_terms(lang, text);
    segs.push_back(seg);
  }
  return nlohmann::json{
      {"format", "markdown"}, {"title", doc.title}, {"language", doc.language}, {"segments", segs}}
      .dump();
}

class LibraryTest : public test::MigratedDatabaseTest {
 protected:
  void SetUp() override {
    MigratedDatabaseTest::SetUp();
    jobs_ = std::make_unique<JobStore>(db());
    jobs_->set_ingest(std::make_shared<LibraryIngest>());
    library_ = std::make_unique<Library>(db(), *jobs_);
  }

  JobSpec import_job(const std::string& name = "doc.md") {
    JobSpec job;
    job.steps = {StepSpec{"content.extract", nlohmann::json::object(), 3, 60000},
                 StepSpec{"meta.index", nlohmann::json::object(), 3, 60000}};
    job.inputs = {InputFile{name, "text/markdown", "# Doc\n\nbody"}};
    return job;
  }

  // Runs a task to completion with `outputs`, as a worker would.
  ClaimedTask run_next(const std::vector<OutputFile>& outputs) {
    auto claimed = jobs_->claim("w1", 1, 60000);
    EXPECT_EQ(claimed.size(), 1u);
    if (claimed.empty()) return {};
    EXPECT_EQ(jobs_->complete(claimed.front(), outputs), WriteResult::kApplied);
    return claimed.front();
  }

  // Imports `doc` under `content_id` and runs its two steps.
  Imported import(const std::string& tenant, const std::string& content_id, const Doc& doc,
                  bool is_active = true) {
    ImportRequest request{tenant, content_id, is_active, true, import_job()};
    Imported imported = library_->import(request);
    run_next({{"segments.json", kSegmentsMediaType, segments_json(doc, false)}});
    run_next({{"index.json", kIndexMediaType, segments_json(doc, true)}});
    return imported;
  }

  std::vector<std::string> hits(const std::string& tenant, const std::string& q,
                                std::optional<std::string> content_id = std::nullopt,
                                bool active_only = true) {
    SearchQuery query;
    query.tenant = tenant;
    query.q = q;
    query.content_id = std::move(content_id);
    query.active_only = active_only;
    query.limit = 100;
    std::vector<std::string> out;
    for (const SearchHit& hit : library_->search(query).hits) {
      out.push_back(hit.content_id + "@" + std::to_string(hit.version) + ":" + hit.location);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::unique_ptr<JobStore> jobs_;
  std::unique_ptr<Library> library_;
};

const Doc kPrinters{"Printers",
                    "en",
                    {{"Setup", "Connect the printer. The printers were running all night."},
                     {"Setup > Paper", "Load paper into the tray before printing a document."},
                     {"Faults", "A paper jam stops the printer; open the cover and remove it."}}};
const Doc kGerman{
    "Drucker", "de", {{"Einrichtung", "Die Drucker standen im Keller und druckten Häuser."}}};

TEST_P(LibraryTest, ImportIngestsSegmentsAndBecomesActive) {
  Imported v1 = import("acme", "guide", kPrinters);
  EXPECT_EQ(v1.version, 1);
  auto job = jobs_->get_job(v1.job_id);
  ASSERT_TRUE(job);
  EXPECT_EQ(job->type, kImportJobType);
  EXPECT_EQ(job->status, "COMPLETED");
  auto content = library_->get("acme", "guide");
  ASSERT_TRUE(content);
  ASSERT_EQ(content->versions.size(), 1u);
  EXPECT_EQ(content->active_version, 1);
  EXPECT_EQ(content->versions[0].status, "READY");
  EXPECT_EQ(content->versions[0].title, "Printers");
  EXPECT_EQ(content->versions[0].segment_count, 3);
  EXPECT_EQ(content->versions[0].source_name, "doc.md");
  auto segments = library_->segments("acme", "guide", 1);
  ASSERT_TRUE(segments);
  ASSERT_EQ(segments->size(), 3u);
  EXPECT_EQ((*segments)[1].location, "Setup > Paper");
  EXPECT_EQ((*segments)[2].text, kPrinters.segments[2].second);
  EXPECT_FALSE(library_->segments("acme", "guide", 2));
  EXPECT_FALSE(library_->get("other", "guide"));  // tenants do not see each other
}

TEST_P(LibraryTest, SecondImportActivatesVersionTwoAndMayForbidIt) {
  import("acme", "guide", kPrinters);
  Imported v2 = import("acme", "guide", kGerman);
  EXPECT_EQ(v2.version, 2);
  auto content = library_->get("acme", "guide");
  EXPECT_EQ(content->active_version, 2);
  EXPECT_EQ(hits("acme", "printer"), std::vector<std::string>{});  // v1 inactive
  EXPECT_EQ(hits("acme", "printer", std::nullopt, false).size(), 2u);
  try {
    library_->import(ImportRequest{"acme", "guide", true, false, import_job()});
    FAIL() << "may_create_new_version=false must conflict";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConflict);
    EXPECT_EQ(e.field(), "content_id");
  }
  EXPECT_EQ(library_->get("acme", "guide")->versions.size(), 2u);  // nothing stored
  // A new content id may be created with may_create_new_version=false.
  auto fresh = library_->import(ImportRequest{"acme", "new", true, false, import_job()});
  EXPECT_EQ(fresh.version, 1);
}

TEST_P(LibraryTest, ImportNotActiveKeepsTheActiveVersion) {
  import("acme", "guide", kPrinters);
  import("acme", "guide", kGerman, /*is_active=*/false);
  EXPECT_EQ(library_->get("acme", "guide")->active_version, 1);
  auto view = library_->set_active("acme", "guide", 2, true);
  EXPECT_EQ(view.active_version, 2);
  view = library_->set_active("acme", "guide", 2, false);
  EXPECT_FALSE(view.active_version);
  EXPECT_THROW(library_->set_active("acme", "guide", 7, true), Error);
}

TEST_P(LibraryTest, SearchMatchesStemsWordsInAnyOrderAndPhrasesInOrder) {
  import("acme", "guide", kPrinters);
  // Stems: "run" and "runs" find "running", "printers" finds "printer".
  EXPECT_EQ(hits("acme", "run"), std::vector<std::string>{"guide@1:Setup"});
  EXPECT_EQ(hits("acme", "runs printers"), std::vector<std::string>{"guide@1:Setup"});
  EXPECT_EQ(hits("acme", "printers runs"), std::vector<std::string>{"guide@1:Setup"});
  // A phrase matches in order only.
  EXPECT_EQ(hits("acme", "\"paper jam\""), std::vector<std::string>{"guide@1:Faults"});
  EXPECT_TRUE(hits("acme", "\"jam paper\"").empty());
  // Words in any order across the segment; all are required.
  EXPECT_EQ(hits("acme", "jam cover"), std::vector<std::string>{"guide@1:Faults"});
  EXPECT_TRUE(hits("acme", "jam tray").empty());
  // Stop words are ignored: "the" is everywhere in the text but matches nothing by itself.
  EXPECT_EQ(hits("acme", "the tray"), std::vector<std::string>{"guide@1:Setup > Paper"});
  EXPECT_TRUE(hits("acme", "the and of").empty());
  // German rows are stemmed as German.
  import("acme", "keller", kGerman);
  EXPECT_EQ(hits("acme", "Haus"), std::vector<std::string>{"keller@1:Einrichtung"});
}

TEST_P(LibraryTest, SearchIsScopedToTenantAndContent) {
  import("acme", "guide", kPrinters);
  import("acme", "other", kPrinters);
  import("globex", "guide", kPrinters);
  EXPECT_EQ(hits("acme", "jam").size(), 2u);
  EXPECT_EQ(hits("globex", "jam"), std::vector<std::string>{"guide@1:Faults"});
  EXPECT_EQ(hits("acme", "jam", std::string("other")), std::vector<std::string>{"other@1:Faults"});
  EXPECT_TRUE(hits("initech", "jam").empty());
}

TEST_P(LibraryTest, HitsCarrySnippetStrengthAndPages) {
  import("acme", "guide", kPrinters);
  SearchQuery query;
  query.tenant = "acme";
  query.q = "printer";
  query.limit = 1;
  auto page = library_->search(query);
  ASSERT_EQ(page.hits.size(), 1u);
  EXPECT_GT(page.hits[0].match_strength, 0.0);
  EXPECT_LE(page.hits[0].match_strength, 1.0);
  EXPECT_NE(page.hits[0].snippet.find("printer"), std::string::npos) << page.hits[0].snippet;
  ASSERT_FALSE(page.next.empty());
  query.cursor = page.next;
  auto second = library_->search(query);
  ASSERT_EQ(second.hits.size(), 1u);
  EXPECT_NE(second.hits[0].location, page.hits[0].location);
  query.cursor = "not-a-cursor";
  EXPECT_THROW(library_->search(query), Error);
  query.cursor = "";
  query.q = "";
  EXPECT_THROW(library_->search(query), Error);
}

TEST_P(LibraryTest, DeletingRemovesFromSearch) {
  import("acme", "guide", kPrinters);
  import("acme", "guide", kPrinters);
  EXPECT_EQ(hits("acme", "jam", std::nullopt, false).size(), 2u);
  EXPECT_TRUE(library_->delete_version("acme", "guide", 2));
  EXPECT_EQ(hits("acme", "jam", std::nullopt, false), std::vector<std::string>{"guide@1:Faults"});
  EXPECT_FALSE(library_->get("acme", "guide")->active_version);  // the active one went
  EXPECT_FALSE(library_->delete_version("acme", "guide", 2));
  EXPECT_TRUE(library_->delete_content("acme", "guide"));
  EXPECT_TRUE(hits("acme", "jam", std::nullopt, false).empty());
  EXPECT_FALSE(library_->get("acme", "guide"));
  // Versions are never reused: a new import of the id starts again at 1 only after the
  // content itself went.
  EXPECT_EQ(import("acme", "guide", kPrinters).version, 1);
}

TEST_P(LibraryTest, FieldsAreStoredSearchedAndKeptWithoutForce) {
  ImportRequest request{"acme", "guide", true, true, import_job()};
  request.job.steps.push_back(StepSpec{"meta.generate", {{"field", "SUMMARY"}}, 3, 60000});
  library_->import(request);
  run_next({{"segments.json", kSegmentsMediaType, segments_json(kPrinters, false)}});
  run_next({{"index.json", kIndexMediaType, segments_json(kPrinters, true)}});
  nlohmann::json field = {{"field", "SUMMARY"},
                          {"value", "How to keep a printer fed with paper."},
                          {"method", "native:textrank"}};
  run_next({{"field-SUMMARY.json", kFieldMediaType, field.dump()},
            {"index.json", kIndexMediaType, segments_json(kPrinters, true)}});
  auto content = library_->get("acme", "guide");
  ASSERT_EQ(content->versions[0].fields.size(), 1u);
  EXPECT_EQ(content->versions[0].fields[0].field, "SUMMARY");
  EXPECT_EQ(content->versions[0].fields[0].value, field["value"]);
  SearchQuery query{"acme", "fed", SearchMode::kField, std::nullopt, true, 10, ""};
  auto page = library_->search(query);
  ASSERT_EQ(page.hits.size(), 1u);
  EXPECT_EQ(page.hits[0].field, "SUMMARY");
  query.mode = SearchMode::kLexical;
  EXPECT_TRUE(library_->search(query).hits.empty());  // not in the text

  // Without force the value is kept and no job is made; with force a job is bound.
  JobSpec job;
  job.steps = {StepSpec{"meta.generate", {{"field", "SUMMARY"}}, 3, 60000}};
  auto kept = library_->generate_field("acme", "guide", std::nullopt, Field::kSummary, false, job);
  ASSERT_TRUE(kept.kept);
  EXPECT_TRUE(kept.job_id.empty());
  auto forced = library_->generate_field("acme", "guide", std::nullopt, Field::kSummary, true, job);
  EXPECT_FALSE(forced.kept);
  ASSERT_FALSE(forced.job_id.empty());
  auto claimed = jobs_->claim("w1", 1, 60000);
  ASSERT_EQ(claimed.size(), 1u);
  auto inputs = jobs_->load_inputs(claimed.front());
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_EQ(inputs[0].meta.media_type, kSegmentsMediaType);
  auto doc = nlohmann::json::parse(inputs[0].data);
  EXPECT_EQ(doc["segments"].size(), 3u);
  EXPECT_EQ(doc["segments"][1]["location"], "Setup > Paper");
  field["value"] = "A new summary about toner.";
  jobs_->complete(claimed.front(), {{"field-SUMMARY.json", kFieldMediaType, field.dump()}});
  content = library_->get("acme", "guide");
  EXPECT_EQ(content->versions[0].fields[0].value, "A new summary about toner.");
  query.mode = SearchMode::kField;
  query.q = "toner";
  EXPECT_EQ(library_->search(query).hits.size(), 1u);
  query.q = "fed";
  EXPECT_TRUE(library_->search(query).hits.empty());  // the old value's index row went
}

TEST_P(LibraryTest, StaleAttemptIngestsNothingAndBadOutputFailsTheVersion) {
  library_->import(ImportRequest{"acme", "guide", true, true, import_job()});
  auto claimed = jobs_->claim("w1", 1, 60000);
  ASSERT_EQ(claimed.size(), 1u);
  ClaimedTask stale = claimed.front();
  stale.attempt += 1;  // not the task's current attempt
  EXPECT_EQ(jobs_->complete(
                stale, {{"segments.json", kSegmentsMediaType, segments_json(kPrinters, false)}}),
            WriteResult::kStale);
  EXPECT_EQ(library_->get("acme", "guide")->versions[0].segment_count, 0);
  jobs_->complete(claimed.front(), {{"segments.json", kSegmentsMediaType, "{not json"}});
  auto version = library_->get("acme", "guide")->versions[0];
  EXPECT_EQ(version.status, "FAILED");
  EXPECT_NE(version.error.find("malformed JSON"), std::string::npos) << version.error;
}

TEST_P(LibraryTest, AFailedImportJobShowsAsAFailedVersion) {
  library_->import(ImportRequest{"acme", "guide", true, true, import_job()});
  auto claimed = jobs_->claim("w1", 1, 60000);
  ASSERT_EQ(claimed.size(), 1u);
  jobs_->fail(claimed.front(), ErrorCode::kValidationFailed, "input 'doc.md' has no text", true);
  auto version = library_->get("acme", "guide")->versions[0];
  EXPECT_EQ(version.status, "FAILED");
  EXPECT_NE(version.error.find("has no text"), std::string::npos) << version.error;
  EXPECT_FALSE(library_->get("acme", "guide")->active_version);
}

TEST_P(LibraryTest, RetentionPrunesJobsNotTheLibrary) {
  Imported imported = import("acme", "guide", kPrinters);
  EXPECT_GT(jobs_->prune_finished(now_ms() + 1000), 0);
  EXPECT_FALSE(jobs_->get_job(imported.job_id));
  auto content = library_->get("acme", "guide");
  ASSERT_TRUE(content);
  EXPECT_EQ(content->versions[0].status, "READY");
  EXPECT_EQ(content->active_version, 1);
  EXPECT_EQ(library_->segments("acme", "guide", 1)->size(), 3u);
  EXPECT_EQ(hits("acme", "jam"), std::vector<std::string>{"guide@1:Faults"});
}

TEST_P(LibraryTest, ContentIdsAreChecked) {
  EXPECT_THROW(library_->import(ImportRequest{"acme", "", true, true, import_job()}), Error);
  EXPECT_THROW(library_->import(ImportRequest{"acme", "a\nb", true, true, import_job()}), Error);
  EXPECT_THROW(
      library_->import(ImportRequest{"acme", std::string(256, 'x'), true, true, import_job()}),
      Error);
  // Case-sensitive.
  import("acme", "Guide", kPrinters);
  EXPECT_FALSE(library_->get("acme", "guide"));
}

TEST_P(LibraryTest, ListPagesByContentId) {
  for (const char* id : {"c", "a", "b"}) import("acme", id, kPrinters);
  auto page = library_->list("acme", "", 2);
  ASSERT_EQ(page.items.size(), 2u);
  EXPECT_EQ(page.items[0].content_id, "a");
  EXPECT_EQ(page.items[1].content_id, "b");
  auto rest = library_->list("acme", page.next, 2);
  ASSERT_EQ(rest.items.size(), 1u);
  EXPECT_EQ(rest.items[0].content_id, "c");
  EXPECT_TRUE(rest.next.empty());
}

INSTANTIATE_TEST_SUITE_P(Databases, LibraryTest, ::testing::ValuesIn(test::all_backends()));

}  // namespace
}  // namespace gen::content
