// Group commit for task completions. Executor threads of one worker process hand their
// results here; whoever finds no commit in flight becomes the leader and commits everything
// waiting in one fenced transaction (JobStore::complete_many). Each caller returns only once
// its own result is stored: nothing is acknowledged before the database has it.
//
// complete_async() is the pipelined form: the caller hands the result over and goes on
// with its next task while a committer thread stores everything waiting in one transaction.
// A task stays leased (and counted as held by its worker) until its callback ran, so a
// crash before the commit only means the task runs again after its lease expires.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "gen/core/queue/job_store.hpp"

namespace gen {

class CompletionBatcher {
 public:
  /// `store` must outlive the batcher. At most `max_batch` completions share a transaction.
  explicit CompletionBatcher(JobStore& store, std::size_t max_batch = 64)
      : store_(store), max_batch_(max_batch) {}
  /// Stores what complete_async() still holds, then stops the committer thread.
  ~CompletionBatcher();
  CompletionBatcher(const CompletionBatcher&) = delete;
  CompletionBatcher& operator=(const CompletionBatcher&) = delete;

  /// Stores `outputs` and completes `task`, fenced on its attempt, possibly together with
  /// other threads' completions. Blocks until committed; rethrows the commit's error.
  WriteResult complete(const ClaimedTask& task, std::vector<OutputFile> outputs);

  /// Called on the committer thread once the completion is stored (`written`, with the
  /// fenced `result`) or given up on (a database outage longer than kFinalWriteBudget, or a
  /// non-retryable error).
  using Done = std::function<void(WriteResult result, bool written)>;

  /// Queues the completion and returns at once. Blocks only while `max_batch` completions
  /// are already waiting (back-pressure). A batch that fails is retried whole, with
  /// back-off; fencing makes a retried commit of an already applied run a stale no-op.
  void complete_async(const ClaimedTask& task, std::vector<OutputFile> outputs, Done done);

  /// Blocks until every complete_async() so far has run its callback.
  void flush();

  /// complete_async() results not yet stored.
  std::size_t in_flight() const;

  /// Transactions committed and completions they carried (for metrics and benchmarks).
  std::size_t commits() const;
  std::size_t completions() const;

 private:
  struct Slot {
    Completion item;
    bool done = false;
    WriteResult result = WriteResult::kStale;
    std::exception_ptr error;
  };
  JobStore& store_;
  std::size_t max_batch_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Slot>> pending_;
  bool committing_ = false;
  std::size_t commits_ = 0;
  std::size_t completions_ = 0;

  struct AsyncItem {
    Completion item;
    Done done;
  };
  void commit_loop();
  std::condition_variable async_cv_;  // async_ gained items, or a batch was stored
  std::deque<AsyncItem> async_;
  std::size_t async_in_flight_ = 0;  // queued + being committed
  std::thread committer_;            // started by the first complete_async()
  bool stop_committer_ = false;
};

}  // namespace gen
