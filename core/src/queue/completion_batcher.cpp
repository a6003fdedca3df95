#include "gen/core/queue/completion_batcher.hpp"

#include <algorithm>

#include "storage/write_retry.hpp"

namespace gen {

WriteResult CompletionBatcher::complete(const ClaimedTask& task, std::vector<OutputFile> outputs) {
  auto slot = std::make_shared<Slot>();
  slot->item.task = task;
  slot->item.outputs = std::move(outputs);
  std::unique_lock lock(mu_);
  pending_.push_back(slot);
  while (!slot->done) {
    if (committing_) {
      cv_.wait(lock);
      continue;
    }
    // Lead one commit of everything waiting (up to max_batch_), then hand over.
    committing_ = true;
    std::vector<std::shared_ptr<Slot>> batch;
    while (!pending_.empty() && batch.size() < max_batch_) {
      batch.push_back(std::move(pending_.front()));
      pending_.pop_front();
    }
    lock.unlock();
    std::vector<Completion> items;
    items.reserve(batch.size());
    for (const auto& s : batch) items.push_back(std::move(s->item));
    std::vector<WriteResult> results;
    std::exception_ptr error;
    try {
      results = store_.complete_many(items);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (error) {
        // Give the item back so the caller can retry it as it was.
        batch[i]->item = std::move(items[i]);
        batch[i]->error = error;
      } else {
        batch[i]->result = results[i];
      }
      batch[i]->done = true;
    }
    ++commits_;
    completions_ += error ? 0 : batch.size();
    committing_ = false;
    cv_.notify_all();
  }
  if (slot->error) std::rethrow_exception(slot->error);
  return slot->result;
}

void CompletionBatcher::complete_async(const ClaimedTask& task, std::vector<OutputFile> outputs,
                                       Done done) {
  // The completion needs the task's identity and place in its job, not its params (a copy
  // of a JSON tree per task, outside the lock).
  Completion c;
  c.task.task_id = task.task_id;
  c.task.job_id = task.job_id;
  c.task.step = task.step;
  c.task.step_count = task.step_count;
  c.task.attempt = task.attempt;
  c.task.generator = task.generator;
  c.task.tenant = task.tenant;
  c.task.row_version = task.row_version;
  c.outputs = std::move(outputs);
  std::unique_lock lock(mu_);
  // Back-pressure: a worker never holds more than a few batches of unstored results.
  async_cv_.wait(lock, [&] { return async_.size() < 2 * max_batch_; });
  async_.push_back({std::move(c), std::move(done)});
  ++async_in_flight_;
  if (!committer_.joinable()) committer_ = std::thread([this] { commit_loop(); });
  async_cv_.notify_all();
}

void CompletionBatcher::commit_loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    async_cv_.wait(lock, [&] { return !async_.empty() || stop_committer_; });
    if (async_.empty()) return;  // stopping, and everything is stored
    std::vector<AsyncItem> batch;
    while (!async_.empty() && batch.size() < max_batch_) {
      batch.push_back(std::move(async_.front()));
      async_.pop_front();
    }
    async_cv_.notify_all();  // room for producers blocked on back-pressure
    lock.unlock();
    std::vector<Completion> items;
    items.reserve(batch.size());
    for (auto& b : batch) items.push_back(std::move(b.item));
    std::vector<WriteResult> results;
    const bool written = write_with_retry("store task results", {{"tasks", items.size()}},
                                          [&] { results = store_.complete_many(items); });
    // A batch that cannot be stored is tried again one item at a time, once each, so that one
    // item the database refuses does not leave the others unrecorded.
    std::vector<bool> stored(batch.size(), written);
    if (!written && items.size() > 1) {
      results.assign(items.size(), WriteResult::kStale);
      for (std::size_t i = 0; i < items.size(); ++i) {
        try {
          results[i] = store_.complete_many({items[i]}).front();
          stored[i] = true;
        } catch (...) {
        }
      }
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      try {
        batch[i].done(stored[i] ? results[i] : WriteResult::kStale, stored[i]);
      } catch (...) {
      }
    }
    lock.lock();
    ++commits_;
    completions_ += static_cast<std::size_t>(std::count(stored.begin(), stored.end(), true));
    async_in_flight_ -= batch.size();
    async_cv_.notify_all();
  }
}

CompletionBatcher::~CompletionBatcher() {
  {
    std::lock_guard lock(mu_);
    stop_committer_ = true;
  }
  async_cv_.notify_all();
  if (committer_.joinable()) committer_.join();
}

void CompletionBatcher::flush() {
  std::unique_lock lock(mu_);
  async_cv_.wait(lock, [&] { return async_in_flight_ == 0; });
}

std::size_t CompletionBatcher::in_flight() const {
  std::lock_guard lock(mu_);
  return async_in_flight_;
}

std::size_t CompletionBatcher::commits() const {
  std::lock_guard lock(mu_);
  return commits_;
}

std::size_t CompletionBatcher::completions() const {
  std::lock_guard lock(mu_);
  return completions_;
}

}  // namespace gen
