// timer_wheel.hpp — the deadlines of the actors that wait with one: a hierarchical timing wheel
// with nanosecond ticks, so that timers fire in the exact order of their deadlines, and arming or
// cancelling one costs the same few instructions however many are pending (chapter 6 measures it
// against binary and 4-ary heaps). Private to the runtime.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <utility>
#include <vector>

namespace smarm::detail {

// [wheel]
/// \brief Pending deadlines, one per id (an actor's slot index), fired in the order of their
/// deadlines, equal ones in the order they were armed.
///
/// Eleven levels of 64 slots cover every 64-bit deadline. A timer sits at the level of the
/// highest 6-bit group in which its deadline differs from the wheel's time `now_`, in the slot
/// that group selects: level 0 holds timers due within the 64 ns after `now_`, one exact deadline a
/// slot; level 1 those due within 4 µs, 64 ns a slot; and so on. A bit per slot says which slots
/// hold timers, so the earliest is found with a count of trailing zeros. When the wheel's time
/// reaches a higher slot's window, its timers are spread one level down (cascaded): a timer is
/// moved at most once a level in its life.
///
/// The wheel's time moves forward only in pop(), and never past the `now` it is given, so a
/// deadline armed later than the clock's present is always ahead of it.
class TimerWheel {
 public:
  /// \brief An id that names no timer.
  static constexpr std::uint32_t kNone = UINT32_MAX;

  /// \brief True when the timer of `id` is pending.
  [[nodiscard]] bool armed(std::uint32_t id) const noexcept {
    return id < nodes_.size() && nodes_[id].armed;
  }
  /// \brief The number of pending timers.
  [[nodiscard]] std::uint32_t size() const noexcept { return size_; }

  /// \brief Arms the timer of `id` (not armed) for `deadline`, which is not before the time of
  /// the last pop(). May allocate, the first time an id this large is armed.
  void arm(std::uint32_t id, std::uint64_t deadline) {
    if (id >= nodes_.size()) nodes_.resize(std::size_t{id} + 1);
    Node& n = nodes_[id];
    n.deadline = deadline;
    n.armed = true;
    n.fired = false;
    link(id);
    ++size_;
  }

  /// \brief Removes the pending timer of `id`.
  void cancel(std::uint32_t id) noexcept {
    unlink(id);
    nodes_[id].armed = false;
    --size_;
  }

  /// \brief The earliest pending timer if its deadline is at or before `now`, removed from the
  /// wheel; kNone if there is none. Call until kNone to fire every timer due by `now`, in order.
  // [wheel_pop]
  std::uint32_t pop(std::uint64_t now) noexcept {
    for (;;) {
      if (bits_[0] != 0) {
        const int s = std::countr_zero(bits_[0]);
        const std::uint64_t deadline = (now_ & ~std::uint64_t{63}) | static_cast<unsigned>(s);
        if (deadline > now) return kNone;
        now_ = deadline;
        const std::uint32_t id = heads_[0][s];
        cancel(id);
        nodes_[id].fired = true;
        return id;
      }
      const int level = lowest_level();
      if (level == kLevels) return kNone;
      const int s = std::countr_zero(bits_[level]);
      const std::uint64_t start = window(level, s);
      if (start > now) return kNone;
      now_ = start;  // every timer before this window has fired
      std::uint32_t id = heads_[level][s];
      heads_[level][s] = kNone;
      bits_[level] &= ~(std::uint64_t{1} << s);
      while (id != kNone) {  // each goes to a lower level, now that now_ shares its window
        const std::uint32_t next = nodes_[id].next;
        link(id);
        id = next;
      }
    }
  }

  // [wheel_pop]

  /// \brief True, once, when the timer of `id` was popped since it was last armed.
  [[nodiscard]] bool take_fired(std::uint32_t id) noexcept {
    return id < nodes_.size() && std::exchange(nodes_[id].fired, false);
  }

  /// \brief A time at which the earliest pending timer may be due: its deadline when it is within
  /// 64 ns of the wheel's time, else the start of the window that holds it, never later than
  /// the deadline. The loop sleeps until then and pops; a timer is found exactly after at most a
  /// few such wake-ups, one a level. UINT64_MAX when no timer is pending.
  [[nodiscard]] std::uint64_t bound() const noexcept {
    if (bits_[0] != 0) {
      return (now_ & ~std::uint64_t{63}) | static_cast<unsigned>(std::countr_zero(bits_[0]));
    }
    const int level = lowest_level();
    if (level == kLevels) return UINT64_MAX;
    return window(level, std::countr_zero(bits_[level]));
  }

 private:
  static constexpr int kLevels = 11;  // 6 bits a level: 66 bits, every uint64 deadline

  struct Node {
    std::uint64_t deadline = 0;
    std::uint32_t prev = kNone;  // in a slot's list; the head's prev is the list's tail
    std::uint32_t next = kNone;
    std::uint8_t level = 0;
    std::uint8_t slot = 0;
    bool armed = false;
    bool fired = false;
  };

  [[nodiscard]] int lowest_level() const noexcept {
    int level = 1;
    while (level < kLevels && bits_[level] == 0) ++level;
    return level;
  }

  // The first deadline of slot `s` of `level`: now_'s groups above the level, then `s`.
  [[nodiscard]] std::uint64_t window(int level, int s) const noexcept {
    const int shift = 6 * level;
    const std::uint64_t above = shift + 6 >= 64 ? 0 : now_ >> (shift + 6) << (shift + 6);
    return above | static_cast<std::uint64_t>(s) << shift;
  }

  // [wheel_link]
  void link(std::uint32_t id) noexcept {
    Node& n = nodes_[id];
    const std::uint64_t differs = n.deadline ^ now_;
    const int level = differs == 0 ? 0 : (63 - std::countl_zero(differs)) / 6;
    const auto s = static_cast<int>(n.deadline >> (6 * level) & 63);
    n.level = static_cast<std::uint8_t>(level);
    n.slot = static_cast<std::uint8_t>(s);
    n.next = kNone;
    std::uint32_t& head = heads_[level][s];
    if (head == kNone) {  // appended, so that equal deadlines fire in the order armed
      head = id;
      n.prev = id;
      bits_[level] |= std::uint64_t{1} << s;
    } else {
      Node& first = nodes_[head];
      nodes_[first.prev].next = id;
      n.prev = first.prev;
      first.prev = id;
    }
  }

  // [wheel_link]

  void unlink(std::uint32_t id) noexcept {
    Node& n = nodes_[id];
    std::uint32_t& head = heads_[n.level][n.slot];
    if (head == id) {
      head = n.next;
      if (head == kNone) {
        bits_[n.level] &= ~(std::uint64_t{1} << n.slot);
      } else {
        nodes_[head].prev = n.prev;
      }
    } else {
      nodes_[n.prev].next = n.next;
      nodes_[n.next != kNone ? n.next : head].prev = n.prev;
    }
  }

  std::array<std::array<std::uint32_t, 64>, kLevels> heads_ = make_heads();
  std::array<std::uint64_t, kLevels> bits_{};
  std::vector<Node> nodes_;  // by id; grows to the largest id armed
  std::uint64_t now_ = 0;
  std::uint32_t size_ = 0;

  static constexpr std::array<std::array<std::uint32_t, 64>, kLevels> make_heads() noexcept {
    std::array<std::array<std::uint32_t, 64>, kLevels> heads{};
    for (auto& level : heads) level.fill(kNone);
    return heads;
  }
};
// [wheel]

}  // namespace smarm::detail
