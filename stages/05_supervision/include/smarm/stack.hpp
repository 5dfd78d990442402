// stack.hpp — stage 02's public API: stacks carved from mmap'd slabs, each with a guard zone below
// it while the process's mapping budget allows, recycled through a per-thread pool that keeps
// released stacks committed and gives their memory back lazily, in bulk.
#pragma once

#include <chrono>
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
/// On a *guarded* stack the zone is StackPool::guard_size bytes of `PROT_NONE`, so running off
/// the bottom of the stack faults at once, and the fault is reported as a stack overflow. On a
/// *canary* stack (made once the process has used its budget of memory mappings, see StackPool)
/// the zone is StackPool::canary_size bytes of ordinary memory that must stay zero: an overflow
/// is found when the zone is checked — a quick check by check(), a full one by overflowed() and
/// when the stack goes back to its pool. Detection on canary stacks is best-effort (chapter 2).
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
  /// \brief True for a stack with a `PROT_NONE` guard zone, false for a canary stack.
  [[nodiscard]] bool guarded() const noexcept { return guarded_; }
  /// \brief True when anything has been written into the canary zone: reads the whole zone.
  /// Always false for a guarded stack, whose overflow faults instead.
  [[nodiscard]] bool overflowed() const noexcept;
  /// \brief The quick check made whenever a context leaves a canary stack: if the top
  /// StackPool::canary_quick bytes of the zone (those a descending overflow writes first) are
  /// not all zero, reports the overflow on stderr and aborts. Does nothing for a guarded stack.
  void check() const noexcept {
    if (!guarded_ && low_ != nullptr) check_canary_top();
  }
  /// \brief True when the handle holds a stack.
  explicit operator bool() const noexcept { return low_ != nullptr; }
  /// \brief Returns the stack to its pool now; the handle becomes empty.
  void reset() noexcept;

 private:
  friend class StackPool;
  Stack(StackPool* pool, std::byte* low, std::size_t size, bool guarded) noexcept
      : pool_(pool), low_(low), size_(size), guarded_(guarded) {}
  void check_canary_top() const noexcept;

  StackPool* pool_ = nullptr;
  std::byte* low_ = nullptr;  // lowest usable byte; the guard zone lies below it
  std::size_t size_ = 0;
  bool guarded_ = false;
};

/// \brief Makes and recycles stacks, so that a new context costs neither a system call nor,
/// once the pool is warm, a page fault.
///
/// Stacks are carved from slabs: one `mmap` holds many stacks of one size, each with its guard
/// zone. A guarded stack costs the kernel two mappings (its `PROT_NONE` guard and its memory
/// cannot merge), and a Linux process may hold only `vm.max_map_count` mappings (65530 by
/// default). So the pools of a process together make guarded stacks while their mappings stay
/// within a budget (see mapping_budget()), and canary stacks beyond it, which cost two mappings
/// per slab of 256.
///
/// **Memory.** A released stack goes on a free list, most recently used first, with its memory
/// still committed, so that reusing it costs no system call and no page fault. The memory of
/// free stacks goes back to the kernel lazily and in bulk: a stack that has stayed free for a
/// whole Options::decay period is given back at the next idle() or decay check after it — so
/// between one and two periods after its release — except the Options::keep_free most
/// recently released stacks of each size, which stay committed. Free stacks that lie next to
/// each other are given back by one `madvise` call per run, a whole slab by one call. trim()
/// gives back every free stack at once.
///
/// A pool is used by one thread; StackPool::local() is the calling thread's.
class StackPool {
 public:
  // [options]
  /// \brief How a pool makes and keeps stacks.
  struct Options {
    /// Guarded stacks this pool may make; past it, canary stacks. Whatever this says, a pool
    /// also stops making guarded stacks when the process's mapping budget is spent.
    std::size_t max_guarded = SIZE_MAX;
    /// Free stacks of each size, the most recently released, whose memory stays committed
    /// however long they stay free.
    std::size_t keep_free = 64;
    /// How long a free stack beyond `keep_free` keeps its memory: it is given back once it has
    /// stayed free for a whole period. Zero gives memory back at every idle() call. Ten seconds,
    /// as jemalloc's decay of its dirty pages: a program whose stacks wait a few seconds between
    /// uses (a million actors that sleep, say) would otherwise pay a `madvise` and a page fault
    /// for each stack each time.
    std::chrono::milliseconds decay{10'000};
  };

  /// \brief Usable bytes of a stack when nobody says otherwise.
  static constexpr std::size_t default_size = std::size_t{64} * 1024;
  /// \brief The `PROT_NONE` zone below a guarded stack: a frame larger than this that does not
  /// probe its pages (see -fstack-clash-protection) could step over it.
  static constexpr std::size_t guard_size = std::size_t{256} * 1024;
  /// \brief The zone below a canary stack, which must stay zero.
  static constexpr std::size_t canary_size = std::size_t{8} * 1024;
  /// \brief The top bytes of a canary zone that Stack::check() reads.
  static constexpr std::size_t canary_quick = 512;
  // [options]
  // Chapters 2 and 3 quote these sizes; a change here must change the text too.
  static_assert(default_size == std::size_t{64} * 1024 && guard_size == std::size_t{256} * 1024 &&
                    canary_size == std::size_t{8} * 1024 && canary_quick == 512,
                "the sizes chapter 2 states");
  static_assert(canary_quick <= canary_size, "the quick check reads the top of the zone");

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
  /// \throws std::length_error when `size` is beyond any stack the address space can hold;
  /// std::bad_alloc when the kernel refuses the memory.
  [[nodiscard]] Stack acquire(std::size_t size = default_size);

  /// \brief The options in force.
  [[nodiscard]] const Options& options() const noexcept { return options_; }
  /// \brief Changes the options; they apply to the stacks made and released from now on.
  void set_options(const Options& options) noexcept { options_ = options; }

  /// \brief Tells the pool that its thread is idle (a scheduler calls it when nothing is
  /// runnable): gives back the memory of the free stacks that are due, as the class
  /// description says. Reads a coarse clock that costs no system call.
  void idle() noexcept;
  /// \brief idle() at the time `now`, for tests and for callers that have read the clock.
  void idle(std::chrono::steady_clock::time_point now) noexcept;
  /// \brief Gives back the memory of every free stack now, whatever its age.
  /// \returns the bytes given back.
  std::size_t trim() noexcept;

  /// \brief What a pool holds, for tests, benchmarks and the curious.
  struct Stats {
    std::size_t slabs = 0;      ///< mmap calls made
    std::size_t guarded = 0;    ///< guarded stacks carved so far
    std::size_t canary = 0;     ///< canary stacks carved so far
    std::size_t in_use = 0;     ///< stacks currently held
    std::size_t free = 0;       ///< stacks on the free lists
    std::size_t committed = 0;  ///< free stacks whose memory has not been given back
    std::size_t mappings = 0;   ///< kernel mappings the slabs cost (an upper bound)
    std::size_t purges = 0;     ///< `madvise` calls made so far to give memory back
  };
  /// \brief The pool's counters now.
  [[nodiscard]] Stats stats() const noexcept;

  /// \brief Mappings all pools of the process may spend on guarded stacks: half of
  /// `vm.max_map_count`, less what the process already held beyond a quarter of it when the
  /// budget was first asked for. Read once. If the kernel refuses a guard zone anyway (the
  /// process mapped more meanwhile), the pools fall back to canary stacks.
  static std::size_t mapping_budget() noexcept;

 private:
  friend class Stack;
  struct Slab;
  struct FreeList;
  struct SizeClass;

  void release(std::byte* low, std::size_t size, bool guarded) noexcept;
  SizeClass& size_class(std::size_t size);
  void add_slab(SizeClass& sc);
  Slab* map_slab(SizeClass& sc, std::size_t guarded_slots);
  std::size_t purge(FreeList& list, std::size_t end, std::size_t usable, bool guarded) noexcept;

  Options options_;
  std::vector<SizeClass*> classes_;
  std::vector<Slab*> slabs_;
  std::size_t guarded_made_ = 0;
  std::size_t canary_made_ = 0;
  std::size_t in_use_ = 0;
  std::size_t mappings_ = 0;
  std::size_t purges_ = 0;
  std::size_t until_decay_check_;  // releases left before release() looks at the clock
  std::chrono::steady_clock::time_point epoch_;  // when the current decay period began
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
