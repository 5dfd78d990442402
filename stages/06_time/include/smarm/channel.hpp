// channel.hpp — stage 04's public API: channels that move values from actors to one actor. The
// typed part lives here (the endpoints, and the ring that buffers values); what does not depend
// on the type of the values (the parked receiver, the queue of parked senders, waiting and
// waking through the scheduler, closing) is ChannelCore, in src/channel.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "smarm/actor.hpp"

/// \file
/// \brief Channels between actors (chapter 4).

namespace smarm {

/// \brief What a send did with its value.
enum class SendStatus : std::uint8_t {
  Sent,      ///< The value is in the channel, for the receiver.
  Full,      ///< try_send() only: the bounded channel had no room. The value is handed back.
  Closed,    ///< The receiver is gone. The value is handed back.
  TimedOut,  ///< send_until() only: the deadline came before room did. The value is handed back.
};

/// \brief What Sender::send() and Sender::try_send() return: what happened, and the value itself
/// when it was not sent, so that nothing is destroyed behind the sender's back.
template <class T>
struct [[nodiscard]] SendResult {
  SendStatus status = SendStatus::Sent;  ///< What happened.
  std::optional<T> value;                ///< The value handed back, unless `status` is Sent.
  /// \brief True when the value was sent.
  explicit operator bool() const noexcept { return status == SendStatus::Sent; }
};

/// \brief What Receiver::try_recv() or Receiver::recv_until() found.
enum class RecvStatus : std::uint8_t {
  Received,  ///< A value, taken from the channel.
  Empty,     ///< No value yet; a sender may still send one.
  Closed,    ///< No value, and none will come: every sender is gone.
  TimedOut,  ///< recv_until() only: no value came by the deadline.
};

/// \brief What Receiver::try_recv() and Receiver::recv_until() return: what they found, and the
/// value when it got one.
template <class T>
struct [[nodiscard]] RecvResult {
  RecvStatus status = RecvStatus::Empty;  ///< What was found.
  std::optional<T> value;                 ///< The value, when `status` is Received.
  /// \brief True when a value was received.
  explicit operator bool() const noexcept { return status == RecvStatus::Received; }
};

template <class T>
class Sender;
template <class T>
class Receiver;

namespace detail {

struct Slot;
struct SelectAccess;  // select.hpp

// [core]
/// \brief The part of a channel that does not depend on the type of its values: who holds it,
/// who is parked on it, and the waits and wakes, all through the scheduler's wait/ready pair.
///
/// One scheduler per thread, and a channel used by the actors of one run: no field is atomic and
/// no lock is taken. The counts are plain integers for the same reason.
struct ChannelCore {
  /// \brief A sender parked on a full channel: on its own stack while it waits, so that parking
  /// allocates nothing, and queued in arrival order.
  struct SendWaiter {
    SendWaiter* next = nullptr;  ///< the next parked sender, or null
    Slot* actor = nullptr;       ///< the parked sender
    void* value = nullptr;       ///< the T it offers, in its own frame
    bool taken = false;          ///< the receiver moved *value into the channel
    bool queued = false;         ///< on the queue of parked senders
  };

  std::size_t senders = 1;      ///< Sender handles alive; none left closes the channel
  bool receiver = true;         ///< false once the Receiver is gone
  Slot* receiving = nullptr;    ///< the receiver, while it is parked in recv() or select()
  SendWaiter* first = nullptr;  ///< the senders parked on a full channel, oldest first
  SendWaiter* last = nullptr;   ///< the newest parked sender

  /// \brief Throws NotInActor unless an actor calls; `what` names the call.
  static void enter(const char* what);
  /// \brief Throws Error for an endpoint moved from or closed; `what` names the call.
  [[noreturn]] static void empty_endpoint(const char* what);
  /// \brief How a wait on a channel ended.
  enum class Woke : std::uint8_t {
    Yes,       ///< woken by the channel
    TimedOut,  ///< the deadline came first
    GaveUp,    ///< cancelled while unwinding
  };
  /// \brief A deadline that never comes: time_point::max()'s nanoseconds.
  static constexpr std::int64_t kForever = INT64_MAX;
  /// \brief Parks the receiver until a value or the close arrives, or until `deadline`
  /// (nanoseconds of smarm::Clock). ActorCancelled when cancelled, unless unwinding already.
  Woke wait_recv(std::int64_t deadline);
  /// \brief Queues `w` behind the senders already parked and parks its sender until the
  /// receiver takes its value or goes, or until `deadline`. As wait_recv() for the result; `w`
  /// is off the queue when it returns or throws.
  Woke wait_send(SendWaiter& w, std::int64_t deadline);
  /// \brief Wakes the parked receiver (`receiving` is not null), in recv() or in select(): a
  /// value or the close arrived.
  void wake_receiver() noexcept;
  /// \brief Takes the oldest parked sender off the queue; the caller moves its value, then
  /// calls woken() for it.
  SendWaiter& pop_sender() noexcept;
  /// \brief Wakes the sender of `w`, whose value was taken or whose channel lost its receiver.
  static void woken(SendWaiter& w) noexcept;
  /// \brief Takes `w` off the queue if it is still on it (its sender was cancelled).
  void unlink(SendWaiter& w) noexcept;
  /// \brief The last sender is gone: wakes the receiver if it is parked.
  void senders_gone() noexcept;
  /// \brief The receiver is gone: wakes every parked sender, oldest first.
  void receiver_gone() noexcept;
};
// [core]

// [ring]
/// \brief The buffer of a channel: a ring of T. A bounded channel allocates it once, at its
/// capacity; an unbounded one doubles it when full and never shrinks it. Either way, a channel
/// in steady state allocates nothing per message.
template <class T>
class Ring {
 public:
  /// \brief An empty ring of `capacity` values (none yet for 0: the first push allocates).
  explicit Ring(std::size_t capacity) {
    if (capacity != 0) allocate(capacity);
  }
  Ring(const Ring&) = delete;             ///< Owned by its channel, in place.
  Ring& operator=(const Ring&) = delete;  ///< Owned by its channel, in place.
  Ring(Ring&&) = delete;                  ///< Owned by its channel, in place.
  Ring& operator=(Ring&&) = delete;       ///< Owned by its channel, in place.
  /// \brief Destroys the values still queued and frees the storage.
  ~Ring() {
    clear();
    std::allocator<T>().deallocate(data_, capacity_);
  }

  /// \brief The values queued.
  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  /// \brief True when no value is queued.
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }

  /// \brief Queues `value` last, growing the ring (doubling it) only when it is full.
  void push(T&& value) {
    if (count_ == capacity_) grow();
    ::new (static_cast<void*>(data_ + wrap(head_ + count_))) T(std::move(value));
    ++count_;
  }

  /// \brief Takes the oldest value out. Requires a value queued.
  T pop() noexcept {
    T* const front = data_ + head_;
    T value(std::move(*front));
    front->~T();
    head_ = wrap(head_ + 1);
    --count_;
    return value;
  }

  /// \brief Destroys every value still queued, oldest first, each once.
  void clear() noexcept {
    while (count_ != 0) {
      data_[head_].~T();
      head_ = wrap(head_ + 1);
      --count_;
    }
  }

 private:
  [[nodiscard]] std::size_t wrap(std::size_t i) const noexcept {
    return i >= capacity_ ? i - capacity_ : i;
  }
  void allocate(std::size_t capacity) {
    data_ = std::allocator<T>().allocate(capacity);
    capacity_ = capacity;
  }
  void grow() {
    const std::size_t old_capacity = capacity_;
    T* const old = data_;
    allocate(old_capacity == 0 ? 16 : 2 * old_capacity);
    for (std::size_t i = 0; i < count_; ++i) {
      T* const from = old + (head_ + i) % old_capacity;
      ::new (static_cast<void*>(data_ + i)) T(std::move(*from));
      from->~T();
    }
    head_ = 0;
    std::allocator<T>().deallocate(old, old_capacity);
  }

  T* data_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
};
// [ring]

/// \brief A channel: its core, its bound, and its buffer. Shared by its endpoints, and deleted
/// by the last of them to go.
template <class T>
struct Channel : ChannelCore {
  /// \brief A channel of `capacity` values; 0 for unbounded.
  explicit Channel(std::size_t capacity) : bound(capacity), buffer(capacity) {}
  /// \brief True when a value can be queued without exceeding the bound.
  [[nodiscard]] bool room() const noexcept { return bound == 0 || buffer.size() < bound; }
  /// \brief Deletes the channel once no endpoint holds it.
  void release_if_unheld() noexcept {
    if (senders == 0 && !receiver) delete this;
  }
  std::size_t bound;  ///< the capacity; 0 for unbounded
  Ring<T> buffer;     ///< the values sent and not yet received
};

}  // namespace detail

/// \brief The sending side of a channel. Copyable: each copy is one more sender (many
/// producers), and the channel closes when the last one is destroyed or closed.
template <class T>
class Sender {
 public:
  /// \brief One more sender on `other`'s channel.
  Sender(const Sender& other) noexcept : c_(other.c_) {
    if (c_ != nullptr) ++c_->senders;
  }
  /// \brief Moves `other`'s sender here; `other` becomes empty.
  Sender(Sender&& other) noexcept : c_(std::exchange(other.c_, nullptr)) {}
  /// \brief Closes this sender, then becomes a copy of `other`.
  Sender& operator=(const Sender& other) {
    if (this != &other) *this = Sender(other);
    return *this;
  }
  /// \brief Closes this sender, then takes `other`'s; `other` becomes empty.
  Sender& operator=(Sender&& other) noexcept {
    if (this != &other) {
      close();
      c_ = std::exchange(other.c_, nullptr);
    }
    return *this;
  }
  /// \brief Closes this sender.
  ~Sender() { close(); }

  // [send]
  /// \brief Sends `value` to the receiver, parking the calling actor while a bounded channel is
  /// full; parked senders get room in the order they came. Returns Sent, or Closed with the
  /// value handed back when the receiver is gone (or goes while the sender is parked).
  /// \throws NotInActor outside an actor; Error on an empty sender (moved from or closed);
  /// ActorCancelled when run() unwinds a deadlock (the value is then destroyed with the frame
  /// unless the receiver took it first; cancelled while unwinding already, send() gives up and
  /// hands the value back as Closed).
  SendResult<T> send(T value) {
    return send_by(std::move(value), detail::ChannelCore::kForever, "smarm::Sender::send");
  }
  // [send]

  /// \brief send() with a deadline: Sent; Closed; or TimedOut when a bounded channel had no room
  /// for the value by `deadline`. The value is handed back unless sent; a sender that times out
  /// leaves the queue of parked senders at once. time_point::max() waits without a deadline.
  /// \throws as send().
  SendResult<T> send_until(T value, Clock::time_point deadline) {
    return send_by(std::move(value), deadline.time_since_epoch().count(),
                   "smarm::Sender::send_until");
  }
  /// \brief send() waiting at most `d` for room: as send_until().
  template <class Rep, class Period>
  SendResult<T> send_for(T value, const std::chrono::duration<Rep, Period>& d) {
    return send_until(std::move(value), detail::deadline_after(d));
  }

  /// \brief Sends `value` if it can without parking: Sent; Full (a bounded channel without room,
  /// or with senders parked before this one); or Closed (the receiver is gone). The value is
  /// handed back unless sent. Works outside an actor too.
  /// \throws Error on an empty sender (moved from or closed).
  SendResult<T> try_send(T value) {
    detail::Channel<T>& c = held("smarm::Sender::try_send");
    if (!c.receiver) return {SendStatus::Closed, std::move(value)};
    if (c.first != nullptr || !c.room()) return {SendStatus::Full, std::move(value)};
    put(c, std::move(value));
    return {};
  }

  /// \brief This sender is done: it becomes empty, as if moved from. When it was the channel's
  /// last sender, the receiver gets what is queued, then "closed". Closing an empty sender does
  /// nothing.
  void close() noexcept {
    detail::Channel<T>* const c = std::exchange(c_, nullptr);
    if (c == nullptr) return;
    if (--c->senders == 0) c->senders_gone();
    c->release_if_unheld();
  }

  /// \brief False once this sender is moved from or closed.
  explicit operator bool() const noexcept { return c_ != nullptr; }

 private:
  template <class U>
  friend std::pair<Sender<U>, Receiver<U>> channel(std::size_t capacity);
  template <class U>
  friend std::pair<Sender<U>, Receiver<U>> channel();
  explicit Sender(detail::Channel<T>* c) noexcept : c_(c) {}

  detail::Channel<T>& held(const char* what) const {
    if (c_ == nullptr) detail::ChannelCore::empty_endpoint(what);
    return *c_;
  }

  // [send_by]
  SendResult<T> send_by(T&& value, std::int64_t deadline, const char* what) {
    using Woke = detail::ChannelCore::Woke;
    detail::Channel<T>& c = held(what);
    detail::ChannelCore::enter(what);
    if (!c.receiver) return {SendStatus::Closed, std::move(value)};
    if (c.first == nullptr && c.room()) {
      put(c, std::move(value));
      return {};
    }
    detail::ChannelCore::SendWaiter w;
    w.value = &value;
    const Woke woke = c.wait_send(w, deadline);  // taken, receiver gone, timed out, cancelled
    if (w.taken) return {};  // even when the deadline came too: the receiver has it
    if (woke == Woke::TimedOut && c.receiver) return {SendStatus::TimedOut, std::move(value)};
    return {SendStatus::Closed, std::move(value)};
  }
  // [send_by]
  // [put]
  static void put(detail::Channel<T>& c, T&& value) {
    c.buffer.push(std::move(value));
    if (c.receiving != nullptr) c.wake_receiver();  // parked on an empty channel: not any more
  }
  // [put]

  detail::Channel<T>* c_;
};

/// \brief The receiving side of a channel: one consumer, so it can be moved but not copied.
/// Destroying it closes the channel for the senders and destroys the values still queued.
template <class T>
class Receiver {
 public:
  /// \brief Moves `other`'s receiver here; `other` becomes empty.
  Receiver(Receiver&& other) noexcept : c_(std::exchange(other.c_, nullptr)) {}
  /// \brief Drops this receiver, then takes `other`'s; `other` becomes empty.
  Receiver& operator=(Receiver&& other) noexcept {
    if (this != &other) {
      drop();
      c_ = std::exchange(other.c_, nullptr);
    }
    return *this;
  }
  Receiver(const Receiver&) = delete;             ///< A channel has one receiver.
  Receiver& operator=(const Receiver&) = delete;  ///< A channel has one receiver.
  /// \brief Closes the channel for its senders: their sends fail from now on, handing their
  /// values back, and parked senders wake. The values still queued are destroyed, each once.
  ~Receiver() { drop(); }

  // [recv]
  /// \brief The next value, parking the calling actor while the channel is empty; std::nullopt
  /// once every sender is gone and every value queued before has been received.
  /// \throws NotInActor outside an actor; Error on an empty receiver (moved from);
  /// ActorCancelled when run() unwinds a deadlock (unless the caller is unwinding already: then
  /// recv() returns std::nullopt).
  std::optional<T> recv() {
    return recv_by(detail::ChannelCore::kForever, "smarm::Receiver::recv").value;
  }
  // [recv]

  /// \brief recv() with a deadline: Received with the next value; Closed once every sender is
  /// gone and the channel drained (or when cancelled while unwinding); TimedOut when no value came
  /// by `deadline`. A value that arrives as the deadline passes is received, not lost: it is
  /// taken if it is there when the receiver runs again, and otherwise stays in the channel.
  /// time_point::max() waits without a deadline.
  /// \throws as recv().
  RecvResult<T> recv_until(Clock::time_point deadline) {
    return recv_by(deadline.time_since_epoch().count(), "smarm::Receiver::recv_until");
  }
  /// \brief recv() waiting at most `d`: as recv_until().
  template <class Rep, class Period>
  RecvResult<T> recv_for(const std::chrono::duration<Rep, Period>& d) {
    return recv_until(detail::deadline_after(d));
  }

  /// \brief The next value if there is one now: Received with it, Empty, or Closed (every
  /// sender gone, nothing left). Never parks; works outside an actor too.
  /// \throws Error on an empty receiver (moved from).
  RecvResult<T> try_recv() {
    detail::Channel<T>& c = held("smarm::Receiver::try_recv");
    if (!c.buffer.empty()) return {RecvStatus::Received, take(c)};
    return {c.senders == 0 ? RecvStatus::Closed : RecvStatus::Empty, std::nullopt};
  }

  /// \brief False once this receiver is moved from.
  explicit operator bool() const noexcept { return c_ != nullptr; }

 private:
  template <class U>
  friend std::pair<Sender<U>, Receiver<U>> channel(std::size_t capacity);
  template <class U>
  friend std::pair<Sender<U>, Receiver<U>> channel();
  friend struct detail::SelectAccess;  // select() waits on the channel, and tests its readiness
  explicit Receiver(detail::Channel<T>* c) noexcept : c_(c) {}

  detail::Channel<T>& held(const char* what) const {
    if (c_ == nullptr) detail::ChannelCore::empty_endpoint(what);
    return *c_;
  }

  // [recv_by]
  RecvResult<T> recv_by(std::int64_t deadline, const char* what) {
    using Woke = detail::ChannelCore::Woke;
    detail::Channel<T>& c = held(what);
    detail::ChannelCore::enter(what);
    for (bool timed_out = false;;) {
      if (!c.buffer.empty()) return {RecvStatus::Received, take(c)};
      if (c.senders == 0) return {RecvStatus::Closed, std::nullopt};  // closed, and drained
      if (timed_out) return {RecvStatus::TimedOut, std::nullopt};
      const Woke woke = c.wait_recv(deadline);
      if (woke == Woke::GaveUp) return {RecvStatus::Closed, std::nullopt};  // while unwinding
      timed_out = woke == Woke::TimedOut;
    }
  }
  // [recv_by]

  // [take]
  // The oldest value; the room it leaves goes to the oldest parked sender, whose value is moved
  // in behind the others before it wakes, so that no sender arriving later can take it first.
  static T take(detail::Channel<T>& c) {
    T value = c.buffer.pop();
    if (c.first != nullptr) {
      detail::ChannelCore::SendWaiter& w = c.pop_sender();
      c.buffer.push(std::move(*static_cast<T*>(w.value)));
      w.taken = true;
      detail::ChannelCore::woken(w);
    }
    return value;
  }
  // [take]

  void drop() noexcept {
    detail::Channel<T>* const c = std::exchange(c_, nullptr);
    if (c == nullptr) return;
    // The values go while the receiver still holds the channel: one of them may hold the last
    // sender, and its going must not free the channel under the loop that clears the buffer.
    c->buffer.clear();
    c->receiver = false;
    c->receiver_gone();
    c->release_if_unheld();
  }

  detail::Channel<T>* c_;
};

// [channel]
/// \brief A new unbounded channel: send() never parks, and the buffer grows (by doubling) as
/// far as the values queued need.
/// \tparam T the values' type; may be move-only (a std::unique_ptr is moved, never copied), and
/// must be nothrow-move-constructible, since the buffer moves values as it grows.
template <class T>
std::pair<Sender<T>, Receiver<T>> channel() {
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "a channel moves its values: T must be nothrow-move-constructible");
  auto* c = new detail::Channel<T>(0);
  return {Sender<T>(c), Receiver<T>(c)};
}

/// \brief A new bounded channel of `capacity` values, allocated once: send() parks while it is
/// full (backpressure).
/// \throws Error when `capacity` is 0: rendezvous channels are not offered.
template <class T>
std::pair<Sender<T>, Receiver<T>> channel(std::size_t capacity) {
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "a channel moves its values: T must be nothrow-move-constructible");
  if (capacity == 0) {
    throw Error(
        "smarm::channel: a capacity of 0 asks for a rendezvous channel, which smarm does not "
        "offer; give a capacity of at least 1, or none for an unbounded channel");
  }
  auto* c = new detail::Channel<T>(capacity);
  return {Sender<T>(c), Receiver<T>(c)};
}
// [channel]

}  // namespace smarm
