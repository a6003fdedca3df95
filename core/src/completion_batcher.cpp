#include "gen/core/completion_batcher.hpp"

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

std::size_t CompletionBatcher::commits() const {
  std::lock_guard lock(mu_);
  return commits_;
}

std::size_t CompletionBatcher::completions() const {
  std::lock_guard lock(mu_);
  return completions_;
}

}  // namespace gen
