#include "cmark_arena.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include <cmark-gfm.h>

namespace gen::pdf {
namespace {

constexpr size_t kBlockSize = 256 * 1024;
/// Blocks kept for the next trees (a 100-page document takes about 20).
constexpr size_t kMaxCachedBlocks = 64;
constexpr size_t kAlign = 16;

/// Before every allocation handed to cmark: its size, and where it came from.
struct alignas(kAlign) Header {
  size_t size;
  uint64_t tag;
};
constexpr uint64_t kArenaTag = 0x6172656e61ULL;  // "arena"
constexpr uint64_t kHeapTag = 0x68656170ULL;     // "heap"

thread_local CmarkArena* current_arena = nullptr;

/// Freed blocks of kBlockSize, reused by the next arenas: fresh ones come from mmap (glibc
/// maps allocations this large), and touching their pages for the first time cost 40% of
/// parsing.
struct BlockCache {
  std::mutex mutex;
  std::vector<void*> blocks;
};

BlockCache& block_cache() {
  static BlockCache* cache = new BlockCache();  // never destroyed: arenas may outlive statics
  return *cache;
}

void* new_block() {
  BlockCache& cache = block_cache();
  {
    std::lock_guard lock(cache.mutex);
    if (!cache.blocks.empty()) {
      void* block = cache.blocks.back();
      cache.blocks.pop_back();
      return block;
    }
  }
  void* block = std::malloc(kBlockSize);  // malloc returns 16-byte aligned memory
  if (block == nullptr) std::abort();     // as cmark's own allocator does (no unwinding in C)
  return block;
}

size_t round_up(size_t size) {
  return (size + kAlign - 1) & ~(kAlign - 1);
}

Header* header_of(void* data) {
  return static_cast<Header*>(data) - 1;
}

void* allocate_tagged(size_t size) {
  if (size > SIZE_MAX / 2) return nullptr;
  Header* header = nullptr;
  if (current_arena != nullptr) {
    header = static_cast<Header*>(current_arena->allocate(sizeof(Header) + size));
    header->tag = kArenaTag;
  } else {
    header = static_cast<Header*>(std::calloc(1, sizeof(Header) + size));
    if (header == nullptr) return nullptr;
    header->tag = kHeapTag;
  }
  header->size = size;
  return header + 1;
}

void* arena_calloc(size_t count, size_t size) {
  if (size != 0 && count > SIZE_MAX / 2 / size) return nullptr;
  return allocate_tagged(count * size);
}

void arena_free(void* data) {
  if (data == nullptr) return;
  Header* header = header_of(data);
  if (header->tag == kHeapTag) std::free(header);  // arena memory goes with its arena
}

void* arena_realloc(void* data, size_t size) {
  if (data == nullptr) return allocate_tagged(size);
  Header* header = header_of(data);
  if (header->tag == kArenaTag && current_arena != nullptr &&
      current_arena->resize_in_place(header, sizeof(Header) + header->size,
                                     sizeof(Header) + size)) {
    header->size = size;
    return data;
  }
  if (header->tag == kHeapTag && current_arena == nullptr) {
    auto* grown = static_cast<Header*>(std::realloc(header, sizeof(Header) + size));
    if (grown == nullptr) return nullptr;
    grown->size = size;
    return grown + 1;
  }
  void* moved = allocate_tagged(size);
  if (moved == nullptr) return nullptr;
  std::memcpy(moved, data, std::min(size, header->size));
  arena_free(data);
  return moved;
}

cmark_mem kAllocator = {arena_calloc, arena_realloc, arena_free};

}  // namespace

CmarkArena::~CmarkArena() {
  BlockCache& cache = block_cache();
  std::lock_guard lock(cache.mutex);
  for (const Block& block : blocks_) {
    if (block.size == kBlockSize && cache.blocks.size() < kMaxCachedBlocks) {
      cache.blocks.push_back(block.data);
    } else {
      std::free(block.data);
    }
  }
}

cmark_mem* CmarkArena::allocator() {
  return &kAllocator;
}

CmarkArena::Scope::Scope(CmarkArena& arena) : previous_(current_arena) {
  current_arena = &arena;
}

CmarkArena::Scope::~Scope() {
  current_arena = previous_;
}

void* CmarkArena::allocate(size_t size) {
  size = round_up(size);
  if (blocks_.empty() || blocks_.back().size - blocks_.back().used < size) {
    // A large request gets a block of its own, before the current one (which stays current).
    const size_t block_size = std::max(kBlockSize, size);
    void* data = block_size == kBlockSize ? new_block() : std::malloc(block_size);
    if (data == nullptr) std::abort();  // as cmark's own allocator does (no unwinding in C)
    const Block block{static_cast<char*>(data), block_size, size};
    if (size > kBlockSize / 4 && !blocks_.empty()) {
      blocks_.insert(blocks_.end() - 1, block);
    } else {
      blocks_.push_back(block);
    }
    std::memset(data, 0, size);
    return data;
  }
  Block& block = blocks_.back();
  char* data = block.data + block.used;
  block.used += size;
  std::memset(data, 0, size);
  return data;
}

bool CmarkArena::resize_in_place(void* data, size_t old_size, size_t new_size) {
  if (blocks_.empty()) return false;
  Block& block = blocks_.back();
  char* const begin = static_cast<char*>(data);
  if (begin < block.data || begin + round_up(old_size) != block.data + block.used) return false;
  const size_t offset = static_cast<size_t>(begin - block.data);
  if (offset + round_up(new_size) > block.size) return false;
  if (new_size > old_size) std::memset(begin + old_size, 0, new_size - old_size);
  block.used = offset + round_up(new_size);
  return true;
}

}  // namespace gen::pdf
