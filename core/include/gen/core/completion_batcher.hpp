// Group commit for task completions. Executor threads of one worker process hand their
// results here; whoever finds no commit in flight becomes the leader and commits everything
// waiting in one fenced transaction (JobStore::complete_many). Each caller returns only once
// its own result is stored: nothing is acknowledged before the database has it.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <vector>

#include "gen/core/job_store.hpp"

namespace gen {

class CompletionBatcher {
 public:
  /// `store` must outlive the batcher. At most `max_batch` completions share a transaction.
  explicit CompletionBatcher(JobStore& store, std::size_t max_batch = 64)
      : store_(store), max_batch_(max_batch) {}

  /// Stores `outputs` and completes `task`, fenced on its attempt, possibly together with
  /// other threads' completions. Blocks until committed; rethrows the commit's error.
  WriteResult complete(const ClaimedTask& task, std::vector<OutputFile> outputs);

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
};

}  // namespace gen
