#pragma once
// Slab: a pool of T indexed by a strong id, with a free list. acquire() reuses the slot freed
// last (LIFO: the warmest in cache, and the order the twin's reports were produced with) or
// appends one; release() gives a slot back. A reused slot keeps its old value: the caller
// resets what it needs (most slots are overwritten whole on reuse).
//
// Invariants: an id is valid from acquire() to release(); a slot never moves when Storage is a
// block deque (BlockStorage): events may hold references into it across growth. With a
// std::vector, a reference is valid only until the next acquire().
// Cost: acquire and release O(1) amortised; lookup one index (vector) or a shift and two loads
// (block deque).

#include <cstddef>
#include <cstdint>
#include <vector>

#include <boost/container/deque.hpp>
#include <boost/container/options.hpp>

namespace hivesim {

/// A deque in blocks of kBlock elements: growing never moves an element; finding one is a
/// shift.
template <typename T, std::size_t kBlock>
using BlockStorage = boost::container::deque<
    T, void, boost::container::deque_options_t<boost::container::block_size<kBlock>>>;

template <typename T, typename IdT, typename Storage = std::vector<T>>
class Slab {
 public:
  /// A slot: the one released last, else a new default-constructed one.
  IdT acquire() {
    if (free_.empty()) {
      slots_.emplace_back();
      return IdT{static_cast<std::uint32_t>(slots_.size() - 1)};
    }
    const IdT id = free_.back();
    free_.pop_back();
    return id;
  }
  void release(IdT id) { free_.push_back(id); }

  T& operator[](IdT id) { return slots_[id.value]; }
  const T& operator[](IdT id) const { return slots_[id.value]; }
  /// Slots ever made (live and free).
  std::size_t capacity() const { return slots_.size(); }
  std::size_t live() const { return slots_.size() - free_.size(); }

 private:
  Storage slots_;
  std::vector<IdT> free_;
};

}  // namespace hivesim
