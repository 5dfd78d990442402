// stack.cpp — guarded stacks: slabs of stacks from mmap, the mapping budget, the per-thread pool,
// and the SIGSEGV handler that turns a fault in a guard page into a stack-overflow report.
#include "smarm/stack.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define SMARM_STACK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SMARM_STACK_ASAN 1
#endif
#endif
#ifdef SMARM_STACK_ASAN
#include <sanitizer/asan_interface.h>
#endif

// [valgrind]
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define VALGRIND_STACK_REGISTER(low, high) 0U
#define VALGRIND_STACK_DEREGISTER(id) ((void)(id))
#endif
// [valgrind]

namespace smarm {
namespace {

std::size_t page_size() noexcept {
  static const auto size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

std::size_t round_to_pages(std::size_t bytes) noexcept {
  const std::size_t page = page_size();
  return (bytes + page - 1) / page * page;
}

// [canary]
// A canary zone must stay zero. Checking its top bytes, the first an overflow writes, reads
// memory that was never written: the kernel maps its shared zero page there, which costs no RSS.
constexpr std::size_t kCanaryBytes = 256;

bool zone_dirty(const std::byte* low) noexcept {
  const std::byte* zone_top = low - kCanaryBytes;
  return std::any_of(zone_top, low, [](std::byte b) { return b != std::byte{0}; });
}
// [canary]

// ---- async-signal-safe reporting

// Builds a message in a fixed buffer with no allocation, so the SIGSEGV handler can use it.
class Message {
 public:
  Message& text(const char* s) noexcept {
    while (*s != '\0') put(*s++);
    return *this;
  }
  Message& number(std::uintmax_t n) noexcept { return digits(n, 10); }
  Message& address(const void* p) noexcept {
    text("0x");
    return digits(reinterpret_cast<std::uintptr_t>(p), 16);
  }
  void write_to_stderr() const noexcept {
    std::size_t done = 0;
    while (done < len_) {
      const ssize_t n = ::write(STDERR_FILENO, buf_.data() + done, len_ - done);
      if (n <= 0) return;
      done += static_cast<std::size_t>(n);
    }
  }

 private:
  void put(char c) noexcept {
    if (len_ < buf_.size()) buf_[len_++] = c;
  }
  Message& digits(std::uintmax_t n, unsigned base) noexcept {
    std::array<char, 24> reversed{};
    std::size_t count = 0;
    do {
      reversed[count++] = "0123456789abcdef"[n % base];
      n /= base;
    } while (n != 0);
    while (count != 0) put(reversed[--count]);
    return *this;
  }

  std::array<char, 512> buf_{};
  std::size_t len_ = 0;
};

// [report]
// Who runs on this thread, when its scheduler can say: the overflow report then names the actor.
// Per thread, like the scheduler that sets it and the handler that reads it (on the faulting
// thread).
thread_local detail::RunningName t_running_name = nullptr;

[[noreturn]] void report_overflow(const std::byte* low, std::size_t size, const char* how,
                                  const void* fault) noexcept {
  Message m;
  m.text("smarm: stack overflow: ");
  std::array<char, 32> name{};
  const detail::RunningName namer = t_running_name;
  if (namer != nullptr && namer(name.data(), name.size()) != 0) {
    m.text("actor ").text(name.data()).text(" running");
  } else {
    m.text("the context running");
  }
  m.text(" on the stack at ")
      .address(low)
      .text("-")
      .address(low + size)
      .text(" (")
      .number(size)
      .text(" bytes) ")
      .text(how);
  if (fault != nullptr) m.text(" at ").address(fault);
  m.text("\n").write_to_stderr();
  std::abort();
}
// [report]

// ---- the registry of guarded slabs, read by the signal handler

// [registry]
// Append-only and lock-free to read: the handler may run at any moment, on any thread, and must
// neither lock nor allocate. Records are filled before they are published by `g_records`; an
// unmapped slab's record is marked dead rather than removed.
struct GuardRecord {
  std::atomic<const std::byte*> base{nullptr};
  std::atomic<const std::byte*> end{nullptr};
  std::atomic<std::size_t> slot_size{0};
  std::atomic<bool> live{false};
};

constexpr std::size_t kChunk = 1024;
constexpr std::size_t kMaxChunks = 4096;  // four million guarded slabs: far past any map budget
std::array<std::atomic<GuardRecord*>, kMaxChunks> g_chunks;
std::atomic<std::size_t> g_records{0};
std::mutex g_registry_mutex;

GuardRecord* register_guarded(std::byte* base, std::size_t bytes, std::size_t slot_size) {
  const std::lock_guard lock(g_registry_mutex);
  const std::size_t index = g_records.load(std::memory_order_relaxed);
  if (index / kChunk >= kMaxChunks) return nullptr;  // unreachable under any mapping budget
  GuardRecord* chunk = g_chunks[index / kChunk].load(std::memory_order_relaxed);
  if (chunk == nullptr) {
    chunk = new GuardRecord[kChunk];
    g_chunks[index / kChunk].store(chunk, std::memory_order_release);
  }
  GuardRecord& r = chunk[index % kChunk];
  r.base.store(base, std::memory_order_relaxed);
  r.end.store(base + bytes, std::memory_order_relaxed);
  r.slot_size.store(slot_size, std::memory_order_relaxed);
  r.live.store(true, std::memory_order_relaxed);
  g_records.store(index + 1, std::memory_order_release);
  return &r;
}
// [registry]

// [guard_hit]
// If `addr` lies in the guard page of a live guarded stack, reports the overflow (never returns).
void check_guard_hit(const std::byte* addr) noexcept {
  const std::size_t count = g_records.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < count; ++i) {
    const GuardRecord& r = g_chunks[i / kChunk].load(std::memory_order_acquire)[i % kChunk];
    if (!r.live.load(std::memory_order_acquire)) continue;
    const std::byte* base = r.base.load(std::memory_order_relaxed);
    if (addr < base || addr >= r.end.load(std::memory_order_relaxed)) continue;
    const std::size_t slot = r.slot_size.load(std::memory_order_relaxed);
    const std::byte* slot_base = base + (addr - base) / slot * slot;
    const auto offset = static_cast<std::size_t>(addr - slot_base);
    if (offset >= page_size()) return;  // inside a stack's own memory: not ours to judge
    report_overflow(slot_base + page_size(), slot - page_size(), "ran into its guard page", addr);
  }
}
// [guard_hit]

// ---- the SIGSEGV handler

// [handler]
struct sigaction g_previous;  // whoever handled SIGSEGV before us (the default, or a sanitizer)

void on_segv(int sig, siginfo_t* info, void* context) {
  check_guard_hit(static_cast<const std::byte*>(info->si_addr));
  // Not a guard page: hand the fault to whoever had it before, with its behaviour unchanged.
  if ((g_previous.sa_flags & SA_SIGINFO) != 0) {
    g_previous.sa_sigaction(sig, info, context);
    return;
  }
  if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    g_previous.sa_handler(sig);
    return;
  }
  // Default action: restore it and return; the faulting instruction runs again and the kernel
  // ends the process with SIGSEGV, exactly as if we had never been installed.
  signal(SIGSEGV, SIG_DFL);
}

void install_segv_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action {};
    action.sa_sigaction = on_segv;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;  // an overflowed stack cannot run the handler
    sigemptyset(&action.sa_mask);
    sigaction(SIGSEGV, &action, &g_previous);
  });
}
// [handler]

// [altstack]
// The handler runs on an alternate stack: the faulting stack has no room left. One per thread,
// unless the thread already has one (a sanitizer installs its own).
class AltStack {
 public:
  AltStack() {
    stack_t current{};
    if (sigaltstack(nullptr, &current) == 0 && (current.ss_flags & SS_DISABLE) == 0) return;
    size_ = std::max(std::size_t{64} * 1024, static_cast<std::size_t>(sysconf(_SC_SIGSTKSZ)));
    void* memory = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return;
    stack_t ours{};
    ours.ss_sp = memory;
    ours.ss_size = size_;
    if (sigaltstack(&ours, nullptr) == 0) {
      memory_ = memory;
    } else {
      munmap(memory, size_);
    }
  }
  AltStack(const AltStack&) = delete;
  AltStack& operator=(const AltStack&) = delete;
  AltStack(AltStack&&) = delete;
  AltStack& operator=(AltStack&&) = delete;
  ~AltStack() {
    if (memory_ == nullptr) return;
    stack_t off{};
    off.ss_flags = SS_DISABLE;
    sigaltstack(&off, nullptr);
    munmap(memory_, size_);
  }

 private:
  void* memory_ = nullptr;
  std::size_t size_ = 0;
};

void ensure_overflow_reporting() {
  install_segv_handler();
  thread_local AltStack alt_stack;
}
// [altstack]

// Mappings that guarded slabs of all pools hold, against mapping_budget().
std::atomic<std::size_t> g_guard_mappings{0};

}  // namespace

// ---- slabs and size classes

// [slab]
// One mmap holding `slots` stacks of one size; each slot is [guard zone page][usable pages].
struct StackPool::Slab {
  std::byte* base = nullptr;
  std::size_t slot_size = 0;
  std::size_t slots = 0;
  bool guarded = false;
  GuardRecord* record = nullptr;
  std::vector<unsigned> valgrind_ids;
};

// The stacks of one usable size: free lists, and the slab being carved.
struct StackPool::SizeClass {
  struct Free {
    std::byte* low;  // lowest usable byte
    bool guarded;
  };
  std::size_t usable = 0;
  std::vector<Free> hot;   // memory still committed; the most recently released last
  std::vector<Free> cold;  // memory given back to the kernel: used when `hot` is empty
  Slab* carving = nullptr;
  std::size_t carved = 0;  // slots of `carving` handed out so far
  std::size_t slots = 0;   // slots of all this class's slabs
};
// [slab]

// [budget]
std::size_t StackPool::mapping_budget() noexcept {
  static const std::size_t budget = [] {
    std::size_t max_map_count = 65530;  // the kernel's default, if /proc cannot tell
    if (FILE* f = std::fopen("/proc/sys/vm/max_map_count", "r")) {
      std::array<char, 32> line{};
      if (std::fgets(line.data(), line.size(), f) != nullptr) {
        char* end = nullptr;
        const unsigned long value = std::strtoul(line.data(), &end, 10);
        if (end != line.data() && value != 0) max_map_count = value;
      }
      std::fclose(f);
    }
    return max_map_count / 2;
  }();
  return budget;
}
// [budget]

StackPool::StackPool(Options options) : options_(options) { ensure_overflow_reporting(); }

StackPool::~StackPool() {
  if (in_use_ != 0) {
    std::fprintf(stderr, "smarm: StackPool destroyed while %zu of its stacks are still held\n",
                 in_use_);
    std::abort();
  }
  for (Slab* slab : slabs_) {
    for (unsigned id : slab->valgrind_ids) VALGRIND_STACK_DEREGISTER(id);
    if (slab->record != nullptr) slab->record->live.store(false, std::memory_order_release);
    munmap(slab->base, slab->slot_size * slab->slots);
    if (slab->guarded) g_guard_mappings.fetch_sub(2 * slab->slots, std::memory_order_relaxed);
    delete slab;
  }
  for (SizeClass* sc : classes_) delete sc;
}

// [local]
StackPool& StackPool::local() {
  thread_local StackPool pool;
  return pool;
}
// [local]

StackPool::SizeClass& StackPool::size_class(std::size_t size) {
  for (SizeClass* sc : classes_) {
    if (sc->usable == size) return *sc;
  }
  auto* sc = new SizeClass;
  sc->usable = size;
  classes_.push_back(sc);
  return *sc;
}

void StackPool::add_slab(SizeClass& sc) {
  const std::size_t page = page_size();
  const std::size_t slot_size = sc.usable + page;
  // [guarded_slots]
  // Guarded slabs are kept small (64 stacks) so that the mapping budget is spent gradually;
  // canary slabs are larger (256 stacks) because they cost one mapping however large.
  constexpr std::size_t kGuardedSlots = 64;
  constexpr std::size_t kCanarySlots = 256;
  constexpr std::size_t kMaxSlabBytes = std::size_t{64} << 20;
  const std::size_t fit = std::max<std::size_t>(1, kMaxSlabBytes / slot_size);

  // Guarded stacks this slab may hold: the pool's allowance and the process's mapping budget.
  std::size_t guarded_slots = std::min(
      {kGuardedSlots, fit, options_.max_guarded - std::min(options_.max_guarded, guarded_made_)});
  std::size_t reserved = 0;
  while (guarded_slots != 0) {
    std::size_t used = g_guard_mappings.load(std::memory_order_relaxed);
    const std::size_t room = (mapping_budget() - std::min(mapping_budget(), used)) / 2;
    guarded_slots = std::min(guarded_slots, room);
    if (guarded_slots == 0) break;
    if (g_guard_mappings.compare_exchange_weak(used, used + 2 * guarded_slots,
                                               std::memory_order_relaxed)) {
      reserved = 2 * guarded_slots;
      break;
    }
  }
  const bool guarded = guarded_slots != 0;
  const std::size_t slots = guarded ? guarded_slots : std::min(kCanarySlots, fit);
  // [guarded_slots]

  // [map_slab]
  const std::size_t bytes = slot_size * slots;
  // MAP_NORESERVE: stacks are mostly untouched address space; commit charge follows real use.
  void* memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (memory == MAP_FAILED) {
    g_guard_mappings.fetch_sub(reserved, std::memory_order_relaxed);
    throw std::bad_alloc();
  }
  auto* slab = new Slab;
  slab->base = static_cast<std::byte*>(memory);
  slab->slot_size = slot_size;
  slab->slots = slots;
  slab->guarded = guarded;
  if (guarded) {
    for (std::size_t i = 0; i < slots; ++i) {
      if (mprotect(slab->base + i * slot_size, page, PROT_NONE) != 0) {
        std::perror("smarm: mprotect of a guard page");
        std::abort();
      }
    }
    slab->record = register_guarded(slab->base, bytes, slot_size);
  }
  // [map_slab]
  slabs_.push_back(slab);
  // release() is noexcept, so the free lists must never need to grow there: the hot list never
  // holds more than keep_free stacks, the cold list never more than the class has carved.
  sc.slots += slots;
  sc.hot.reserve(std::min(options_.keep_free, sc.slots));
  sc.cold.reserve(sc.slots);
  sc.carving = slab;
  sc.carved = 0;
  mappings_ += guarded ? 2 * slots : 1;
}

// [acquire]
Stack StackPool::acquire(std::size_t size) {
  size = round_to_pages(std::max<std::size_t>(size, 1));
  SizeClass& sc = size_class(size);
  std::byte* low = nullptr;
  bool guarded = false;
  if (std::vector<SizeClass::Free>& list = sc.hot.empty() ? sc.cold : sc.hot; !list.empty()) {
    low = list.back().low;
    guarded = list.back().guarded;
    list.pop_back();
  } else {
    if (sc.carving == nullptr || sc.carved == sc.carving->slots) add_slab(sc);
    Slab& slab = *sc.carving;
    low = slab.base + sc.carved * slab.slot_size + page_size();
    guarded = slab.guarded;
    ++sc.carved;
    (guarded ? guarded_made_ : canary_made_) += 1;
    slab.valgrind_ids.push_back(VALGRIND_STACK_REGISTER(low, low + size));
  }
  ++in_use_;
  return {this, low, size, guarded};
}
// [acquire]

// [release]
void StackPool::release(std::byte* low, std::size_t size, bool guarded) noexcept {
  if (!guarded && zone_dirty(low)) {
    report_overflow(low, size, "wrote into the canary zone below it", nullptr);
  }
#ifdef SMARM_STACK_ASAN
  // Frames abandoned on this stack may have left their redzones poisoned; the next context
  // starts with clean memory.
  __asan_unpoison_memory_region(low, size);
#endif
  SizeClass& sc = size_class(size);
  if (sc.hot.size() < options_.keep_free) {
    sc.hot.push_back({low, guarded});
  } else {
    madvise(low, size, MADV_DONTNEED);
    sc.cold.push_back({low, guarded});
  }
  --in_use_;
}
// [release]

StackPool::Stats StackPool::stats() const noexcept {
  Stats s;
  s.slabs = slabs_.size();
  s.guarded = guarded_made_;
  s.canary = canary_made_;
  s.in_use = in_use_;
  for (const SizeClass* sc : classes_) s.free += sc->hot.size() + sc->cold.size();
  s.mappings = mappings_;
  return s;
}

// ---- Stack

Stack& Stack::operator=(Stack&& other) noexcept {
  if (this != &other) {
    reset();
    pool_ = other.pool_;
    low_ = other.low_;
    size_ = other.size_;
    guarded_ = other.guarded_;
    other.pool_ = nullptr;
    other.low_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

bool Stack::overflowed() const noexcept { return low_ != nullptr && !guarded_ && zone_dirty(low_); }

void Stack::reset() noexcept {
  if (low_ == nullptr) return;
  pool_->release(low_, size_, guarded_);
  pool_ = nullptr;
  low_ = nullptr;
  size_ = 0;
}

void detail::set_running_name(RunningName namer) noexcept { t_running_name = namer; }

}  // namespace smarm
