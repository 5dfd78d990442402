// stack.hpp — stage 02's public API: stacks carved from mmap'd slabs, each with a guard page below
// it while the process's mapping budget allows, recycled through a per-thread pool.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

/// \file
/// \brief Guarded, pooled stacks for contexts (chapter 2).

namespace smarm {

class StackPool;

/// \brief A stack for one context: whole pages of memory, with a guard zone just below them.
///
/// The guard zone is one page. On a *guarded* stack it is `PROT_NONE`, so running off the bottom
/// of the stack faults at once, and the fault is reported as a stack overflow. On a *canary*
/// stack (made once the process has used its budget of memory mappings, see StackPool) the zone
/// is ordinary memory that must stay zero: an overflow is found when the stack is checked, at the
/// latest when it goes back to its pool.
///
/// A Stack is a move-only handle; destroying it returns the memory to the pool it came from,
/// which must still exist. The kernel commits the memory only as it is touched.
class Stack {
 public:
  /// \brief An empty handle, holding no stack.
  Stack() noexcept = default;
  /// \brief Takes over the stack of `other`, which becomes empty.
  Stack(Stack&& other) noexcept { *this = static_cast<Stack&&>(other); }
  /// \brief Returns the stack held, if any, to its pool and takes over the stack of `other`.
  Stack& operator=(Stack&& other) noexcept;
  Stack(const Stack&) = delete;             ///< A stack has one owner.
  Stack& operator=(const Stack&) = delete;  ///< A stack has one owner.
  /// \brief Returns the stack to its pool.
  ~Stack() { reset(); }

  /// \brief The usable memory, for Context::make(). Empty for an empty handle.
  [[nodiscard]] std::span<std::byte> usable() const noexcept { return {low_, size_}; }
  /// \brief Usable bytes: the requested size rounded up to whole pages.
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  /// \brief True for a stack with a `PROT_NONE` guard page, false for a canary stack.
  [[nodiscard]] bool guarded() const noexcept { return guarded_; }
  /// \brief True when the stack has run into its guard zone: always false for a guarded stack,
  /// whose overflow faults instead.
  [[nodiscard]] bool overflowed() const noexcept;
  /// \brief True when the handle holds a stack.
  explicit operator bool() const noexcept { return low_ != nullptr; }
  /// \brief Returns the stack to its pool now; the handle becomes empty.
  void reset() noexcept;

 private:
  friend class StackPool;
  Stack(StackPool* pool, std::byte* low, std::size_t size, bool guarded) noexcept
      : pool_(pool), low_(low), size_(size), guarded_(guarded) {}

  StackPool* pool_ = nullptr;
  std::byte* low_ = nullptr;  // lowest usable byte; the guard zone is the page below it
  std::size_t size_ = 0;
  bool guarded_ = false;
};

/// \brief Makes and recycles stacks, so that a new context costs neither `mmap` nor `munmap`.
///
/// Stacks are carved from slabs: one `mmap` holds many stacks of one size, each with its guard
/// zone. A guarded stack costs the kernel two mappings (its `PROT_NONE` guard and its memory
/// cannot merge), and a Linux process may hold only `vm.max_map_count` mappings (65530 by
/// default). So the pools of a process together make guarded stacks while their mappings stay
/// within half that number, and canary stacks beyond it, which cost one mapping per slab.
///
/// A released stack goes on a free list, most recently used first, so its pages are likely
/// still in cache; past `Options::keep_free` free stacks of a size, the memory of further
/// released stacks is given back to the kernel (`MADV_DONTNEED`) but the addresses are kept.
/// A pool is used by one thread; StackPool::local() is the calling thread's.
class StackPool {
 public:
  // [options]
  /// \brief How a pool makes and keeps stacks.
  struct Options {
    /// Guarded stacks this pool may make; past it, canary stacks. Whatever this says, a pool
    /// also stops making guarded stacks when the process's mapping budget is spent.
    std::size_t max_guarded = SIZE_MAX;
    /// Free stacks of one size whose memory stays committed, ready for reuse.
    std::size_t keep_free = 256;
  };

  /// \brief Usable bytes of a stack when nobody says otherwise.
  static constexpr std::size_t default_size = std::size_t{64} * 1024;
  // [options]

  /// \brief A pool with default options.
  StackPool() : StackPool(Options{}) {}
  /// \brief A pool with the given options.
  explicit StackPool(Options options);
  StackPool(const StackPool&) = delete;             ///< Stacks point back to their pool.
  StackPool& operator=(const StackPool&) = delete;  ///< Stacks point back to their pool.
  StackPool(StackPool&&) = delete;                  ///< Stacks point back to their pool.
  StackPool& operator=(StackPool&&) = delete;       ///< Stacks point back to their pool.
  /// \brief Unmaps every slab. Destroying a pool while one of its stacks is still held is a bug:
  /// it is reported on stderr and the process aborts.
  ~StackPool();

  /// \brief The calling thread's pool, made on first use.
  static StackPool& local();

  /// \brief A stack of at least `size` usable bytes (rounded up to whole pages).
  /// \throws std::bad_alloc when the kernel refuses the memory.
  [[nodiscard]] Stack acquire(std::size_t size = default_size);

  /// \brief What a pool holds, for tests, benchmarks and the curious.
  struct Stats {
    std::size_t slabs = 0;     ///< mmap calls made
    std::size_t guarded = 0;   ///< guarded stacks carved so far
    std::size_t canary = 0;    ///< canary stacks carved so far
    std::size_t in_use = 0;    ///< stacks currently held
    std::size_t free = 0;      ///< stacks on the free lists
    std::size_t mappings = 0;  ///< kernel mappings the slabs cost (an upper bound)
  };
  /// \brief The pool's counters now.
  [[nodiscard]] Stats stats() const noexcept;

  /// \brief Mappings all pools of the process may spend on guarded stacks:
  /// half of `vm.max_map_count`, read once.
  static std::size_t mapping_budget() noexcept;

 private:
  friend class Stack;
  struct Slab;
  struct SizeClass;

  void release(std::byte* low, std::size_t size, bool guarded) noexcept;
  SizeClass& size_class(std::size_t size);
  void add_slab(SizeClass& sc);

  Options options_;
  std::vector<SizeClass*> classes_;
  std::vector<Slab*> slabs_;
  std::size_t guarded_made_ = 0;
  std::size_t canary_made_ = 0;
  std::size_t in_use_ = 0;
  std::size_t mappings_ = 0;
};

namespace detail {

/// \brief Writes the name of the actor running on the calling thread into `out` (at most
/// `capacity` bytes, NUL-terminated) and returns its length, or 0 when no actor runs. It is
/// called from the SIGSEGV handler, so it must be async-signal-safe.
using RunningName = std::size_t (*)(char* out, std::size_t capacity) noexcept;

/// \brief Lets a stack-overflow report on the calling thread name the actor that overflowed
/// (the thread's scheduler sets it; nullptr removes it).
void set_running_name(RunningName namer) noexcept;

}  // namespace detail

}  // namespace smarm
