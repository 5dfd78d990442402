// stack.cpp — guarded stacks: slabs of stacks from mmap, the mapping budget, the per-thread pool
// with its lazy, bulk return of memory, the canary checks, and the SIGSEGV handler that turns a
// fault in a guard zone into a stack-overflow report.
#include "smarm/stack.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>

#if defined(__SANITIZE_ADDRESS__)
#define SMARM_STACK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SMARM_STACK_ASAN 1
#endif
#endif
#ifdef SMARM_STACK_ASAN
#include <sanitizer/asan_interface.h>
// A canary zone is read as raw memory: the frames of an overflow may have left ASan's redzone
// marks there, and the check must report the overflow, not trip over the marks.
#define SMARM_NO_ASAN __attribute__((no_sanitize("address")))
#else
#define SMARM_NO_ASAN
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

// [asan]
// AddressSanitizer poisons the redzones around a frame's locals on entry and unpoisons them on
// return. Frames abandoned on a stack (its context never returned) leave theirs poisoned, so a
// stack going back on a free list is unpoisoned whole: the next context starts with clean memory.
void asan_unpoison_stack([[maybe_unused]] std::byte* low,
                         [[maybe_unused]] std::size_t size) noexcept {
#ifdef SMARM_STACK_ASAN
  __asan_unpoison_memory_region(low, size);
#endif
}
// [asan]

std::size_t page_size() noexcept {
  static const auto size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

std::size_t round_to_pages(std::size_t bytes) noexcept {
  const std::size_t page = page_size();
  return (bytes + page - 1) / page * page;
}

// The largest stack acquire() makes: far past any real need, and small enough that slot sizes
// and slab sizes cannot overflow.
constexpr std::size_t kMaxStack = std::size_t{1} << 40;

// [canary]
// A canary zone must stay zero. Reading a page of it that was never written maps the kernel's
// shared zero page: it costs a page-table entry, no resident memory, and the reads hit the same
// physical page, so they stay in the cache.
// Four independent accumulators of 16 bytes: the loads overlap instead of each waiting for the
// OR before it. `bytes` is a multiple of 64.
using Chunk = std::uint64_t __attribute__((vector_size(16)));

SMARM_NO_ASAN Chunk load(const std::byte* p) noexcept {
  Chunk c;
  std::memcpy(&c, p, sizeof c);
  return c;
}

SMARM_NO_ASAN bool zone_dirty(const std::byte* low, std::size_t bytes) noexcept {
  const std::byte* p = low - bytes;
  Chunk a{};
  Chunk b{};
  Chunk c{};
  Chunk d{};
  for (std::size_t i = 0; i < bytes; i += 4 * sizeof(Chunk)) {
    a |= load(p + i);
    b |= load(p + i + sizeof(Chunk));
    c |= load(p + i + 2 * sizeof(Chunk));
    d |= load(p + i + 3 * sizeof(Chunk));
  }
  const Chunk all = a | b | c | d;
  return (all[0] | all[1]) != 0;
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
                                  const void* at) noexcept {
  Message m;
  m.text("smarm: stack overflow: ");
  std::array<char, 48> name{};  // "<index.serial>": up to 34 bytes
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
  if (at != nullptr) m.text(" at ").address(at);
  m.text("\n").write_to_stderr();
  std::abort();
}
// [report]

// ---- the registry of slabs, read by the signal handler

// [registry]
// Append-only and lock-free to read: the handler may run at any moment, on any thread, and must
// neither lock nor allocate. Records are filled before they are published by `g_records`; an
// unmapped slab's record is marked dead rather than removed. Each slot of a slab is
// [zone][usable], after `head` bytes of a guard below the whole slab (canary slabs only).
struct SlabRecord {
  std::atomic<const std::byte*> base{nullptr};
  std::atomic<const std::byte*> end{nullptr};
  std::atomic<std::size_t> head{0};
  std::atomic<std::size_t> slot_size{0};
  std::atomic<std::size_t> zone{0};
  std::atomic<bool> guarded{false};
  std::atomic<bool> live{false};
};

constexpr std::size_t kChunk = 1024;
constexpr std::size_t kMaxChunks = 4096;  // four million slabs: far past any map budget
std::array<std::atomic<SlabRecord*>, kMaxChunks> g_chunks;
std::atomic<std::size_t> g_records{0};
std::mutex g_registry_mutex;

SlabRecord* register_slab(const std::byte* base, std::size_t bytes, std::size_t head,
                          std::size_t slot_size, std::size_t zone, bool guarded) {
  const std::lock_guard lock(g_registry_mutex);
  const std::size_t index = g_records.load(std::memory_order_relaxed);
  if (index / kChunk >= kMaxChunks) return nullptr;  // unreachable under any mapping limit
  SlabRecord* chunk = g_chunks[index / kChunk].load(std::memory_order_relaxed);
  if (chunk == nullptr) {
    chunk = new SlabRecord[kChunk];
    g_chunks[index / kChunk].store(chunk, std::memory_order_release);
  }
  SlabRecord& r = chunk[index % kChunk];
  r.base.store(base, std::memory_order_relaxed);
  r.end.store(base + bytes, std::memory_order_relaxed);
  r.head.store(head, std::memory_order_relaxed);
  r.slot_size.store(slot_size, std::memory_order_relaxed);
  r.zone.store(zone, std::memory_order_relaxed);
  r.guarded.store(guarded, std::memory_order_relaxed);
  r.live.store(true, std::memory_order_relaxed);
  g_records.store(index + 1, std::memory_order_release);
  return &r;
}
// [registry]

// [guard_hit]
// Where `p` lies in a live slab: in some slot's zone (or the guard below the whole slab), which
// means an overflow of that slot's stack. Fills the stack's bounds and returns true if so.
struct Hit {
  const std::byte* low = nullptr;
  std::size_t size = 0;
  bool guarded = false;
  bool floor = false;  // below the whole slab, in the guard under its first slot's zone
};

bool in_a_zone(const std::byte* p, Hit& hit) noexcept {
  const std::size_t count = g_records.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < count; ++i) {
    const SlabRecord& r = g_chunks[i / kChunk].load(std::memory_order_acquire)[i % kChunk];
    if (!r.live.load(std::memory_order_acquire)) continue;
    const std::byte* base = r.base.load(std::memory_order_relaxed);
    if (p < base || p >= r.end.load(std::memory_order_relaxed)) continue;
    const std::size_t head = r.head.load(std::memory_order_relaxed);
    const std::size_t slot = r.slot_size.load(std::memory_order_relaxed);
    const std::size_t zone = r.zone.load(std::memory_order_relaxed);
    const auto from_first = static_cast<std::size_t>(p - base);
    hit.floor = from_first < head;
    const std::size_t index = hit.floor ? 0 : (from_first - head) / slot;
    const std::size_t offset = hit.floor ? 0 : (from_first - head) % slot;
    if (offset >= zone) return false;  // inside a stack's own memory: not ours to judge
    hit.low = base + head + index * slot + zone;
    hit.size = slot - zone;
    hit.guarded = r.guarded.load(std::memory_order_relaxed);
    return true;
  }
  return false;
}

// If the fault at `addr`, with the stack pointer at `sp`, is a stack overflow, reports it
// (never returns). A fault in a guard zone is one; so is any fault while the stack pointer is in
// a zone, which catches a canary stack that ran past its zone into memory that is not ours.
void check_overflow(const std::byte* addr, const std::byte* sp) noexcept {
  Hit hit;
  if (in_a_zone(addr, hit) && (hit.guarded || hit.floor)) {
    report_overflow(hit.low, hit.size,
                    hit.floor ? "ran past its canary zone into the guard below its slab"
                              : "ran into its guard zone",
                    addr);
  }
  if (in_a_zone(sp, hit)) {
    report_overflow(hit.low, hit.size,
                    hit.guarded ? "ran into its guard zone"
                                : "ran past its canary zone (a fault with the stack pointer)",
                    sp);
  }
}
// [guard_hit]

// ---- the SIGSEGV handler

// The interrupted stack pointer: a register's value, which is an address.
const std::byte* stack_pointer(const void* context) noexcept {
  const auto* uc = static_cast<const ucontext_t*>(context);
#if defined(__x86_64__)
  const auto sp = static_cast<std::uintptr_t>(uc->uc_mcontext.gregs[REG_RSP]);
#elif defined(__aarch64__)
  const auto sp = static_cast<std::uintptr_t>(uc->uc_mcontext.sp);
#endif
  return reinterpret_cast<const std::byte*>(sp);  // NOLINT(performance-no-int-to-ptr)
}

// [handler]
struct sigaction g_previous;  // whoever handled SIGSEGV before us (the default, or a sanitizer)

void on_segv(int sig, siginfo_t* info, void* context) {
  // si_code <= 0: sent by kill(2), raise(3) or sigqueue(3), not by a fault. Only a fault can be
  // an overflow, and only a fault recurs when its instruction runs again.
  const bool sent = info->si_code <= 0;
  if (!sent) {
    check_overflow(static_cast<const std::byte*>(info->si_addr), stack_pointer(context));
  }
  // Not an overflow: hand the signal to whoever had it before, with its behaviour unchanged.
  if ((g_previous.sa_flags & SA_SIGINFO) != 0) {
    g_previous.sa_sigaction(sig, info, context);
    return;
  }
  if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    g_previous.sa_handler(sig);
    return;
  }
  if (sent && g_previous.sa_handler == SIG_IGN) return;  // ignored, as it was before us
  // The default action (which a fault also gets when SIGSEGV was ignored). For a fault: restore
  // it and return; the faulting instruction runs again and the kernel ends the process with
  // SIGSEGV, exactly as if we had never been installed. A sent signal does not come again by
  // itself, so send it once more: it is delivered, with its default action, when we return.
  signal(SIGSEGV, SIG_DFL);
  if (sent) raise(SIGSEGV);
}

void install_segv_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Learn the previous action before ours is in place: from then on a fault may run on_segv,
    // which reads g_previous.
    sigaction(SIGSEGV, nullptr, &g_previous);
    struct sigaction action {};
    action.sa_sigaction = on_segv;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;  // an overflowed stack cannot run the handler
    sigemptyset(&action.sa_mask);
    sigaction(SIGSEGV, &action, nullptr);
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

// The coarse monotonic clock: read from the vDSO without a system call, to a few milliseconds.
std::chrono::steady_clock::time_point coarse_now() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  using std::chrono::steady_clock;
  const auto since_boot = std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
  return steady_clock::time_point(std::chrono::duration_cast<steady_clock::duration>(since_boot));
}

// release() looks at the clock once in this many releases, so that a thread that is never idle
// still gives back what it no longer uses.
constexpr std::size_t kDecayCheckEvery = 1024;

// Lines of /proc/self/maps: the mappings the process holds now.
std::size_t mappings_held() noexcept {
  const int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  std::array<char, 16384> buf{};
  std::size_t lines = 0;
  for (ssize_t n = 0; (n = read(fd, buf.data(), buf.size())) > 0;) {
    lines += static_cast<std::size_t>(std::count(buf.data(), buf.data() + n, '\n'));
  }
  close(fd);
  return lines;
}

}  // namespace

// ---- slabs and size classes

// [slab]
// One mmap holding `slots` stacks of one size: `head` bytes of guard below the whole slab
// (canary slabs), then the slots, each [zone][usable pages].
struct StackPool::Slab {
  std::byte* base = nullptr;
  std::size_t bytes = 0;
  std::size_t head = 0;
  std::size_t zone = 0;
  std::size_t slot_size = 0;
  std::size_t slots = 0;
  bool guarded = false;
  SlabRecord* record = nullptr;
  std::vector<unsigned> valgrind_ids;
};

// The free stacks of one size and kind, by their lowest usable byte, the most recently released
// last. Those below `clean` have had their memory given back; every one below `low_water` has
// stayed on the list since the current decay period began.
struct StackPool::FreeList {
  std::vector<std::byte*> stacks;
  std::size_t clean = 0;
  std::size_t low_water = 0;
  std::size_t slots = 0;  // stacks of this size and kind carved so far: the list's capacity
};

// The stacks of one usable size: a free list for each kind, and the slab being carved. A guarded
// stack is handed out before a canary one: it is both safer and cheaper to check.
struct StackPool::SizeClass {
  std::size_t usable = 0;
  std::array<FreeList, 2> lists;  // guarded, canary
  Slab* carving = nullptr;
  std::size_t carved = 0;  // slots of `carving` handed out so far
  FreeList& list(bool guarded) noexcept { return lists[guarded ? 0 : 1]; }
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
    // Half the limit, and never more than leaves a quarter of it free beside what the process
    // holds already: a program that is heavy on mappings of its own keeps room for them.
    const std::size_t held = mappings_held();
    const std::size_t spare = max_map_count - std::min(max_map_count, held + max_map_count / 4);
    return std::min(max_map_count / 2, spare);
  }();
  return budget;
}
// [budget]

StackPool::StackPool(Options options)
    : options_(options), until_decay_check_(kDecayCheckEvery), epoch_(coarse_now()) {
  ensure_overflow_reporting();
}

StackPool::~StackPool() {
  if (in_use_ != 0) {
    std::fprintf(stderr, "smarm: StackPool destroyed while %zu of its stacks are still held\n",
                 in_use_);
    std::abort();
  }
  for (Slab* slab : slabs_) {
    for (unsigned id : slab->valgrind_ids) VALGRIND_STACK_DEREGISTER(id);
    if (slab->record != nullptr) slab->record->live.store(false, std::memory_order_release);
    munmap(slab->base, slab->bytes);
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

// Maps a slab for `sc`: guarded when `guarded_slots` is not zero (its mappings are already
// reserved), canary otherwise. Returns null when the kernel refuses a guard zone; throws
// std::bad_alloc when it refuses the memory.
// [map_slab]
StackPool::Slab* StackPool::map_slab(SizeClass& sc, std::size_t guarded_slots) {
  constexpr std::size_t kCanarySlots = 256;
  constexpr std::size_t kMaxSlabBytes = std::size_t{64} << 20;
  const std::size_t page = page_size();
  const bool guarded = guarded_slots != 0;
  const std::size_t zone = guarded ? guard_size : canary_size;
  const std::size_t head = guarded ? 0 : page;  // a canary slab stands on one guard page
  const std::size_t slot_size = zone + sc.usable;
  const std::size_t fit = std::max<std::size_t>(1, kMaxSlabBytes / slot_size);
  const std::size_t slots = guarded ? guarded_slots : std::min(kCanarySlots, fit);
  const std::size_t bytes = head + slot_size * slots;
  // MAP_NORESERVE: stacks are mostly untouched address space; commit charge follows real use.
  void* memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (memory == MAP_FAILED) throw std::bad_alloc();
  auto* base = static_cast<std::byte*>(memory);
  // A huge page would commit 2 MiB where a stack touches 4 KiB.
  madvise(base, bytes, MADV_NOHUGEPAGE);
  for (std::size_t i = 0; i < (guarded ? slots : 0); ++i) {
    if (mprotect(base + i * slot_size, zone, PROT_NONE) != 0) {
      munmap(memory, bytes);  // ENOMEM: the process holds more mappings than the budget knew
      return nullptr;
    }
  }
  // The guard under a canary slab is a nicety: without it (the kernel refused), an overflow of
  // the first slot is still caught by its zone.
  const bool floor = !guarded && mprotect(base, head, PROT_NONE) == 0;
  auto* slab = new Slab{base, bytes, head, zone, slot_size, slots, guarded, nullptr, {}};
  slab->record = register_slab(base, bytes, head, slot_size, zone, guarded);
  mappings_ += guarded ? 2 * slots : (floor ? 2 : 1);
  return slab;
}
// [map_slab]

void StackPool::add_slab(SizeClass& sc) {
  // [guarded_slots]
  // Guarded slabs are kept small (64 stacks) so that the mapping budget is spent gradually.
  constexpr std::size_t kGuardedSlots = 64;
  // Guarded stacks this slab may hold: the pool's allowance and the process's mapping budget.
  std::size_t guarded_slots =
      std::min(kGuardedSlots, options_.max_guarded - std::min(options_.max_guarded, guarded_made_));
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
  Slab* slab = nullptr;
  try {
    slab = map_slab(sc, guarded_slots);
  } catch (...) {
    g_guard_mappings.fetch_sub(reserved, std::memory_order_relaxed);
    throw;
  }
  if (slab == nullptr) {
    // The kernel refused a guard: the budget was too generous for this process. Spend the rest
    // of it, so that no pool tries again, and carve canary stacks instead.
    g_guard_mappings.fetch_add(mapping_budget(), std::memory_order_relaxed);
    slab = map_slab(sc, 0);
  }
  // [guarded_slots]
  slabs_.push_back(slab);
  // release() is noexcept, so a free list must never need to grow there: it can hold every
  // stack of its kind. It grows geometrically, so a burst that maps many slabs copies it rarely.
  FreeList& list = sc.list(slab->guarded);
  list.slots += slab->slots;
  if (list.stacks.capacity() < list.slots) {
    list.stacks.reserve(std::max(list.slots, 2 * list.stacks.capacity()));
  }
  sc.carving = slab;
  sc.carved = 0;
}

// [acquire]
Stack StackPool::acquire(std::size_t size) {
  if (size > kMaxStack) {
    throw std::length_error("smarm::StackPool::acquire: a stack of " + std::to_string(size) +
                            " bytes is larger than the largest the pool makes (" +
                            std::to_string(kMaxStack) + " bytes)");
  }
  size = round_to_pages(std::max<std::size_t>(size, 1));
  SizeClass& sc = size_class(size);
  std::byte* low = nullptr;
  bool guarded = !sc.list(true).stacks.empty();
  if (FreeList& list = sc.list(guarded); !list.stacks.empty()) {
    low = list.stacks.back();  // the most recently released: its top pages are warm
    list.stacks.pop_back();
    if (const std::size_t left = list.stacks.size(); left < list.low_water) {
      list.low_water = left;
      list.clean = std::min(list.clean, left);
    }
  } else {
    if (sc.carving == nullptr || sc.carved == sc.carving->slots) add_slab(sc);
    Slab& slab = *sc.carving;
    low = slab.base + slab.head + sc.carved * slab.slot_size + slab.zone;
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
  if (!guarded && zone_dirty(low, canary_size)) {
    report_overflow(low, size, "wrote into the canary zone below it", nullptr);
  }
  asan_unpoison_stack(low, size);
  size_class(size).list(guarded).stacks.push_back(low);  // committed: reuse costs no page fault
  --in_use_;
  if (--until_decay_check_ == 0) {
    until_decay_check_ = kDecayCheckEvery;
    idle(coarse_now());
  }
}
// [release]

// [decay]
void StackPool::idle() noexcept { idle(coarse_now()); }

void StackPool::idle(std::chrono::steady_clock::time_point now) noexcept {
  const bool at_once = options_.decay.count() == 0;
  if (!at_once && now - epoch_ < options_.decay) return;
  for (SizeClass* sc : classes_) {
    for (FreeList& list : sc->lists) {
      // Given back: what has stayed free for the whole period now ending (below the low-water
      // mark), except the keep_free most recently released.
      const std::size_t size = list.stacks.size();
      const std::size_t end =
          std::min(at_once ? size : list.low_water, size - std::min(size, options_.keep_free));
      if (end > list.clean) purge(list, end, sc->usable, &list == &sc->list(true));
      list.low_water = size;
    }
  }
  epoch_ = now;
}

std::size_t StackPool::trim() noexcept {
  std::size_t bytes = 0;
  for (SizeClass* sc : classes_) {
    for (FreeList& list : sc->lists) {
      const std::size_t size = list.stacks.size();
      if (size > list.clean) bytes += purge(list, size, sc->usable, &list == &sc->list(true));
    }
  }
  return bytes;
}

// Gives back the memory of the free stacks [clean, end) of `list`: sorted by address, stacks that
// lie next to each other form one run, and each run costs one madvise.
std::size_t StackPool::purge(FreeList& list, std::size_t end, std::size_t usable,
                             bool guarded) noexcept {
  const auto first = list.stacks.begin() + static_cast<std::ptrdiff_t>(list.clean);
  const auto last = list.stacks.begin() + static_cast<std::ptrdiff_t>(end);
  std::sort(first, last);
  const std::size_t slot_size = usable + (guarded ? guard_size : canary_size);
  for (auto run = first; run != last;) {
    auto next = run + 1;
    while (next != last && *next == *(next - 1) + slot_size) ++next;
    // The run spans the zones between its stacks: zero-filled is what a zone must be anyway.
    std::byte* const top = *(next - 1) + usable;
    madvise(*run, static_cast<std::size_t>(top - *run), MADV_DONTNEED);
    ++purges_;
    run = next;
  }
  const std::size_t bytes = (end - list.clean) * usable;
  list.clean = end;
  return bytes;
}
// [decay]

StackPool::Stats StackPool::stats() const noexcept {
  Stats s;
  s.slabs = slabs_.size();
  s.guarded = guarded_made_;
  s.canary = canary_made_;
  s.in_use = in_use_;
  for (const SizeClass* sc : classes_) {
    for (const FreeList& list : sc->lists) {
      s.free += list.stacks.size();
      s.committed += list.stacks.size() - list.clean;
    }
  }
  s.mappings = mappings_;
  s.purges = purges_;
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

bool Stack::overflowed() const noexcept {
  return low_ != nullptr && !guarded_ && zone_dirty(low_, StackPool::canary_size);
}

void Stack::check_canary_top() const noexcept {
  if (zone_dirty(low_, StackPool::canary_quick)) {
    report_overflow(low_, size_, "wrote into the canary zone below it", nullptr);
  }
}

void Stack::reset() noexcept {
  if (low_ == nullptr) return;
  pool_->release(low_, size_, guarded_);
  pool_ = nullptr;
  low_ = nullptr;
  size_ = 0;
}

void detail::set_running_name(RunningName namer) noexcept { t_running_name = namer; }

}  // namespace smarm
