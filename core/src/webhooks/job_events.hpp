// The webhooks' transactional outbox, as the job store writes it. Private to core/src
// (SQL inside core's own write transactions); see webhooks.hpp for the design.
#pragma once

#include <string>
#include <vector>

#include "gen/core/storage/database.hpp"
#include "storage/session.hpp"

namespace gen {

/// The outbox hook of the job store: inside the write transaction `s` that just ended the
/// jobs in `job_ids`, queues a JOB_PROCESSED delivery for every enabled webhook of each ended
/// job's tenant. One statement; jobs not in a final state are skipped, and queuing twice for
/// the same webhook, event and job is a no-op.
void enqueue_job_events(const Database& db, Poco::Data::Session& s,
                        const std::vector<std::string>& job_ids);
/// The outbox INSERT ... SELECT behind enqueue_job_events(), over `jobs` (a FROM item aliased
/// `j` with the jobs table's columns), with SQL expressions for max_attempts and now; it ends
/// in a WHERE clause the caller may extend, then adds its ON CONFLICT.
std::string job_events_insert_sql(const std::string& jobs, const std::string& max_attempts,
                                  const std::string& at);

}  // namespace gen
