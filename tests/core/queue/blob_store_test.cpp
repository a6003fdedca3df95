// Chunked artifact storage: streamed uploads (BlobWriter), large outputs, ranged reads, and
// the clean-up of uploads that never became a job. On SQLite and on PostgreSQL.
#include <Poco/Data/Session.h>
#include <gtest/gtest.h>

#include "database_fixture.hpp"
#include "gen/core/base/clock.hpp"
#include "gen/core/queue/job_store.hpp"
#include "gen/core/storage/database.hpp"
#include "storage/session.hpp"
#include "test_database.hpp"

namespace gen {
namespace {

using namespace Poco::Data::Keywords;

std::string pattern(std::size_t size, unsigned seed) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    out[i] = static_cast<char>((i * 131 + seed + (i >> 10)) & 0xFF);
  }
  return out;
}

class BlobStoreTest : public test::MigratedDatabaseTest {
 protected:
  BlobStoreTest() : MigratedDatabaseTest(4) {}
  void SetUp() override {
    MigratedDatabaseTest::SetUp();
    store_ = std::make_unique<JobStore>(*db_);
  }
  std::int64_t rows(const std::string& table) {
    Poco::Data::Session s = db_->session();
    Poco::Int64 n = 0;
    s << "SELECT COUNT(*) FROM " + table, into(n), now;
    return n;
  }
  std::string read(const ArtifactMeta& a, std::int64_t offset, std::int64_t length) {
    std::string out;
    store_->read_artifact_bytes(a, offset, length,
                                [&](const char* d, std::size_t n) { out.append(d, n); });
    return out;
  }

  std::unique_ptr<JobStore> store_;  // a member of this class: dropped before the database
};

TEST_P(BlobStoreTest, SmallFilesStayInlineAndNeverTouchTheDatabase) {
  BlobWriter w(*db_, "");
  std::string bytes = pattern(BlobWriter::kChunkBytes, 1);  // exactly one chunk
  w.write(bytes.data(), bytes.size());
  w.finish();
  EXPECT_FALSE(w.chunked());
  EXPECT_EQ(w.data(), bytes);
  EXPECT_EQ(w.size(), static_cast<std::int64_t>(bytes.size()));
  EXPECT_EQ(rows("uploads"), 0);
  EXPECT_EQ(rows("artifact_chunks"), 0);
}

TEST_P(BlobStoreTest, StreamedUploadIsLinkedToTheJobAndReadInRanges) {
  const std::string bytes = pattern(BlobWriter::kChunkBytes * 2 + 12345, 7);
  BlobWriter w(*db_, "acme");
  for (std::size_t off = 0; off < bytes.size(); off += 70000) {
    w.write(bytes.data() + off, std::min<std::size_t>(70000, bytes.size() - off));
  }
  w.finish();
  ASSERT_TRUE(w.chunked());
  EXPECT_EQ(rows("artifact_chunks"), 3);
  EXPECT_EQ(rows("uploads"), 1) << "staged until a job links it";

  JobSpec spec;
  spec.tenant = "acme";
  spec.steps.push_back({"a.first", nlohmann::json::object(), 1, 1000});
  spec.inputs.push_back(
      {"big.bin", "application/octet-stream", {}, w.blob_id(), w.size(), w.sha256()});
  std::string id = store_->submit(spec);
  w.release();
  EXPECT_EQ(rows("uploads"), 0);

  auto meta = store_->find_artifact(id, "big.bin");
  ASSERT_TRUE(meta);
  EXPECT_EQ(meta->size_bytes, static_cast<std::int64_t>(bytes.size()));
  EXPECT_EQ(meta->sha256.size(), 64u);
  EXPECT_EQ(store_->read_artifact(id, "big.bin")->data, bytes);
  const std::int64_t chunk = static_cast<std::int64_t>(BlobWriter::kChunkBytes);
  EXPECT_EQ(read(*meta, 0, 10), bytes.substr(0, 10));
  EXPECT_EQ(read(*meta, chunk - 5, 10), bytes.substr(static_cast<std::size_t>(chunk - 5), 10));
  EXPECT_EQ(read(*meta, 2 * chunk + 12340, 100), bytes.substr(2 * BlobWriter::kChunkBytes + 12340));

  // The worker gets the whole input.
  auto claimed = store_->claim("w1", 1, 60000);
  ASSERT_EQ(claimed.size(), 1u);
  auto inputs = store_->load_inputs(claimed[0]);
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_EQ(inputs[0].data, bytes);

  // A large output is chunked too, and deleting the job removes every chunk.
  std::string out = pattern(BlobWriter::kChunkBytes + 1, 3);
  ASSERT_EQ(store_->complete(claimed[0], {{"out.bin", "application/octet-stream", out}}),
            WriteResult::kApplied);
  EXPECT_EQ(rows("artifact_chunks"), 5);
  auto out_meta = store_->find_artifact(id, "out.bin");
  ASSERT_TRUE(out_meta);
  EXPECT_EQ(read(*out_meta, chunk - 1, 2), out.substr(BlobWriter::kChunkBytes - 1));
  EXPECT_EQ(store_->read_artifact(id, "out.bin")->data, out);
  EXPECT_TRUE(store_->delete_job(id));
  EXPECT_EQ(rows("artifact_chunks"), 0);
}

TEST_P(BlobStoreTest, AbandonedUploadsAreDeleted) {
  const std::string bytes = pattern(BlobWriter::kChunkBytes * 3, 5);
  {
    BlobWriter w(*db_, "");
    w.write(bytes.data(), bytes.size());
    EXPECT_EQ(rows("artifact_chunks"), 2);  // the third is still buffered
  }                                         // a failed request: the writer goes without release()
  EXPECT_EQ(rows("artifact_chunks"), 0);
  EXPECT_EQ(rows("uploads"), 0);

  // A crashed backend leaves a staged upload behind: pruning removes it once it is stale.
  auto leaked = std::make_unique<BlobWriter>(*db_, "");
  leaked->write(bytes.data(), bytes.size());
  leaked->finish();
  leaked->release();  // as if the process died: nobody deletes it
  EXPECT_EQ(rows("uploads"), 1);
  EXPECT_EQ(store_->prune_stale_uploads(now_ms() - 60000), 0) << "still fresh";
  EXPECT_EQ(store_->prune_stale_uploads(now_ms() + 1000), 1);
  EXPECT_EQ(rows("uploads"), 0);
  EXPECT_EQ(rows("artifact_chunks"), 0);

  // Where no worker prunes, the next upload clears leftovers idle for over an hour.
  auto old = std::make_unique<BlobWriter>(*db_, "");
  old->write(bytes.data(), bytes.size());
  old->release();
  {
    Poco::Data::Session s = db_->session();
    s << "UPDATE uploads SET updated_at_ms = 0", now;
  }
  {
    BlobWriter next(*db_, "");
    next.write(bytes.data(), bytes.size());
    EXPECT_EQ(rows("uploads"), 1) << "only the live one";
    EXPECT_EQ(rows("artifact_chunks"), 2);
  }
  EXPECT_EQ(rows("uploads"), 0);

  // A duplicate submission (same idempotency key) does not keep its upload.
  JobSpec spec;
  spec.steps.push_back({"a.first", nlohmann::json::object(), 1, 1000});
  spec.idempotency_key = "once";
  store_->submit(spec);
  BlobWriter dup(*db_, "");
  dup.write(bytes.data(), bytes.size());
  dup.finish();
  spec.inputs.push_back(
      {"x.bin", "application/octet-stream", {}, dup.blob_id(), dup.size(), dup.sha256()});
  EXPECT_FALSE(store_->submit_all({spec}).front().created);
  dup.release();
  EXPECT_EQ(rows("artifact_chunks"), 0);
  EXPECT_EQ(rows("uploads"), 0);
}

TEST_P(BlobStoreTest, EmptyInputsAndOutputsAreStored) {
  JobSpec spec;
  spec.steps.push_back({"a.first", nlohmann::json::object(), 1, 1000});
  spec.inputs.push_back({"empty.txt", "text/plain", ""});
  std::string id = store_->submit(spec);
  auto a = store_->read_artifact(id, "empty.txt");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->data, "");
  EXPECT_EQ(a->meta.size_bytes, 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, BlobStoreTest, ::testing::ValuesIn(test::all_backends()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace gen
