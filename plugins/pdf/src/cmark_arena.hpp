// An arena allocator for cmark-gfm's Markdown trees.
//
// cmark allocates every node, every text chunk and every growing buffer one by one, and
// cmark_node_free() walks the tree to free them one by one again: malloc and free were about
// half of parsing's time, and freeing the tree another 4% of a render. A tree parsed with
// allocator() while an arena is current takes its memory from that arena, and is freed at
// once with it: never call cmark_node_free() or cmark_parser_free() on it (they free nothing
// but cost a walk over the tree).
#pragma once

#include <cstddef>
#include <vector>

struct cmark_mem;

namespace gen::pdf {

class CmarkArena {
 public:
  CmarkArena() = default;
  ~CmarkArena();
  CmarkArena(CmarkArena&& other) noexcept : blocks_(std::move(other.blocks_)) {}
  CmarkArena& operator=(CmarkArena&&) = delete;
  CmarkArena(const CmarkArena&) = delete;
  CmarkArena& operator=(const CmarkArena&) = delete;

  /// cmark's allocator (for cmark_parser_new_with_mem). cmark's callbacks carry no context,
  /// so the arena is the one made current on the calling thread by a Scope; with none, the
  /// memory comes from the heap (and must then be freed with cmark_node_free as usual).
  static cmark_mem* allocator();

  /// Makes `arena` the calling thread's current arena until the Scope ends. Every cmark call
  /// on a tree parsed into an arena must run inside a Scope of an arena of the same render
  /// (reading a text node's literal the first time allocates its C string).
  class Scope {
   public:
    explicit Scope(CmarkArena& arena);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    CmarkArena* previous_;
  };

  void* allocate(size_t size);  ///< zeroed, 16-byte aligned; `size` bytes plus the header
  /// Grows or shrinks the allocation at `data` (of `old_size` bytes) in place when it is the
  /// last one of the current block and fits; returns false otherwise.
  bool resize_in_place(void* data, size_t old_size, size_t new_size);

 private:
  struct Block {
    char* data;
    size_t size;
    size_t used;
  };
  std::vector<Block> blocks_;
};

}  // namespace gen::pdf
