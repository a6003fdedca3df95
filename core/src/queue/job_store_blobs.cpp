// JobStore's artifact storage: artifact rows, their chunks (large artifacts live in ~1 MiB
// chunks, migration 6) and BlobWriter, which streams an upload into chunks (see job_store.cpp
// for the map).
#include "gen/core/queue/job_store.hpp"

#include <algorithm>

#include <Poco/Data/LOB.h>
#include <Poco/Data/Session.h>
#include <Poco/DigestEngine.h>
#include <Poco/Nullable.h>
#include <Poco/SHA2Engine.h>

#include "gen/core/base/clock.hpp"
#include "queue/job_store_impl.hpp"
#include "storage/session.hpp"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Session;
using Poco::Data::Statement;

namespace gen {
namespace jobstore {

void insert_chunk(const Database& db, Session& s, const std::string& blob_id, int seq,
                  std::int64_t offset, const char* data, std::size_t size) {
  std::string id = blob_id;
  int n = seq;
  Poco::Int64 at = offset;
  Poco::Data::BLOB blob(reinterpret_cast<const unsigned char*>(data), size);
  s << db.sql("INSERT INTO artifact_chunks (blob_id, seq, offset_bytes, data) VALUES (?, ?, ?, ?)"),
      use(id), use(n), use(at), use(blob), now;
}

// Deletes a blob's chunks and its staging row (a no-op for parts that do not exist).
void delete_blob(const Database& db, Session& s, const std::string& blob_id) {
  std::string id = blob_id;
  s << db.sql("DELETE FROM artifact_chunks WHERE blob_id = ?"), use(id), now;
  s << db.sql("DELETE FROM uploads WHERE id = ?"), use(id), now;
}

// One artifacts row: `inline_data` holds the bytes, or `blob_id` names their chunks.
void insert_artifact_row(const Database& db, Session& s, const std::string& job_id, int step,
                         int seq, const std::string& name, const std::string& media_type,
                         std::int64_t size_bytes, const std::string& sha256,
                         std::string_view inline_data, const std::string& blob_id) {
  std::string id = new_id();
  std::string job = job_id;
  std::string n = name;
  std::string mt = media_type;
  Poco::Int64 size = size_bytes;
  std::string digest = sha256;
  Poco::Nullable<std::string> blob_ref;
  if (!blob_id.empty()) blob_ref = blob_id;
  Poco::Int64 at = now_ms();
  if (inline_data.empty()) {
    // Poco binds an empty BLOB as NULL: spell the empty value out.
    std::string empty = db.dialect() == Dialect::kSqlite ? "X''" : "''::bytea";
    s << db.sql(
        "INSERT INTO artifacts (id, job_id, step, seq, name, media_type, size_bytes, sha256,"
        " data, blob_id, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, " +
        empty + ", ?, ?)"),
        use(id), use(job), use(step), use(seq), use(n), use(mt), use(size), use(digest),
        use(blob_ref), use(at), now;
    return;
  }
  Poco::Data::BLOB blob(reinterpret_cast<const unsigned char*>(inline_data.data()),
                        inline_data.size());
  s << db.sql(
      "INSERT INTO artifacts (id, job_id, step, seq, name, media_type, size_bytes, sha256, data,"
      " blob_id, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
      use(id), use(job), use(step), use(seq), use(n), use(mt), use(size), use(digest), use(blob),
      use(blob_ref), use(at), now;
}

// Stores `data` (in the caller's transaction) as chunks, so that downloads can stream it, when it
// is larger than one chunk and returns their blob id; "" when it is small enough to be stored
// inline in its artifact row.
std::string insert_chunks(const Database& db, Session& s, const std::string& data) {
  if (data.size() <= BlobWriter::kChunkBytes) return {};
  std::string blob_id = new_id();
  int n = 0;
  for (std::size_t off = 0; off < data.size(); off += BlobWriter::kChunkBytes) {
    insert_chunk(db, s, blob_id, n++, static_cast<std::int64_t>(off), data.data() + off,
                 std::min(BlobWriter::kChunkBytes, data.size() - off));
  }
  return blob_id;
}

// The artifact row of `data`, whose chunks (if any) insert_chunks() stored as `blob_id`.
void insert_artifact(const Database& db, Session& s, const std::string& job_id, int step, int seq,
                     const std::string& name, const std::string& media_type,
                     const std::string& data, const std::string& blob_id) {
  insert_artifact_row(db, s, job_id, step, seq, name, media_type,
                      static_cast<std::int64_t>(data.size()), sha256_hex(data),
                      blob_id.empty() ? std::string_view(data) : std::string_view(), blob_id);
}

void insert_artifact(const Database& db, Session& s, const std::string& job_id, int step, int seq,
                     const std::string& name, const std::string& media_type,
                     const std::string& data) {
  insert_artifact(db, s, job_id, step, seq, name, media_type, data, insert_chunks(db, s, data));
}

}  // namespace jobstore

using namespace jobstore;

// --- BlobWriter ------------------------------------------------------------------------------

struct BlobWriter::Hasher {
  Poco::SHA2Engine engine{Poco::SHA2Engine::SHA_256};
};

BlobWriter::BlobWriter(Database& db, std::string tenant)
    : db_(db), tenant_(std::move(tenant)), hasher_(std::make_unique<Hasher>()) {}

BlobWriter::~BlobWriter() {
  try {
    discard();
  } catch (const std::exception&) {
    // left to prune_stale_uploads()
  }
}

void BlobWriter::write(const char* data, std::size_t size) {
  hasher_->engine.update(data, size);
  size_ += static_cast<std::int64_t>(size);
  while (size > 0) {
    // A full buffer is stored only once more bytes come: a file of one chunk stays inline.
    if (buffer_.size() == kChunkBytes) flush();
    if (buffer_.capacity() < kChunkBytes) buffer_.reserve(kChunkBytes);
    std::size_t take = std::min(size, kChunkBytes - buffer_.size());
    buffer_.append(data, take);
    data += take;
    size -= take;
  }
}

void BlobWriter::finish() {
  if (chunked() && !buffer_.empty()) flush();
  sha256_ = Poco::DigestEngine::digestToHex(hasher_->engine.digest());
}

void BlobWriter::flush() {
  bool first = blob_id_.empty();
  if (first) blob_id_ = new_id();
  db_.write_transaction([&](DbSession& s) {
    Poco::Int64 at = now_ms();
    std::string id = blob_id_;
    if (first) {
      std::string tenant = tenant_;
      s << db_.sql(
          "INSERT INTO uploads (id, tenant, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?)"),
          use(id), use(tenant), use(at), use(at), now;
    } else {
      s << db_.sql("UPDATE uploads SET updated_at_ms = ? WHERE id = ?"), use(at), use(id), now;
    }
    insert_chunk(db_, s, blob_id_, seq_, stored_, buffer_.data(), buffer_.size());
  });
  ++seq_;
  stored_ += static_cast<std::int64_t>(buffer_.size());
  buffer_.clear();
  if (first) {
    // Each new upload clears a few a crashed backend left behind, so they go even where no
    // worker prunes (RETENTION__MAX_AGE_S=0). Idle for an hour: never a live upload.
    try {
      JobStore(db_).prune_stale_uploads(now_ms() - kStaleUploadMs, 10);
    } catch (const std::exception&) {
      // the next upload or prune_finished() tries again
    }
  }
}

void BlobWriter::discard() {
  if (released_ || blob_id_.empty()) return;
  released_ = true;
  db_.write_transaction([&](DbSession& s) { delete_blob(db_, s, blob_id_); });
}

}  // namespace gen
