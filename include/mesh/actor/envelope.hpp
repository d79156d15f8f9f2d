#pragma once
/// The envelopes of local requests: detail::local_envelope (a cast) and detail::local_call (a call
/// with its state and payload in one allocation); detail::new_envelope, and detail::push_envelope,
/// which queues any envelope on an activation.

#include <mesh/actor/request_ops.hpp>

#include <cstddef>
#include <memory>
#include <new>
#include <utility>

namespace mesh::detail {

// ---- envelopes: one type per reply type --------------------------------------------------------

/// The payload and init argument of an envelope: where they are and how to destroy them.
struct payload_slot {
  void* msg = nullptr;
  void (*destroy_msg)(void*) noexcept = nullptr;
  std::size_t heap_align = 0;  // non-zero: an over-aligned payload in its own allocation
  void* init_arg = nullptr;    // the actor's init_arg_t, on the heap (rare: first calls only)
  void (*delete_init)(void*) noexcept = nullptr;

  payload_slot() = default;
  payload_slot(payload_slot const&) = delete;
  payload_slot& operator=(payload_slot const&) = delete;
  ~payload_slot() {
    if (init_arg) delete_init(init_arg);
    if (!destroy_msg) return;
    destroy_msg(msg);
    if (heap_align) ::operator delete(msg, std::align_val_t(heap_align));
  }
  void set_init(actor_ops const& a, void* src) {
    init_arg = a.new_init(src);
    delete_init = a.delete_init;
  }
};

/// Allocates an envelope E followed by its payload, which `make(dst, src)` constructs (moves the
/// caller's message, or default-constructs one to decode into). An over-aligned payload gets an
/// allocation of its own. One copy per envelope type, not per message type.
template <class E, class R>
[[gnu::noinline]] E* new_envelope(message_ops<R> const& ops, void (*make)(void* dst, void* src), void* src) {
  E* e;
  if (ops.align <= __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
    std::size_t const off = (sizeof(E) + ops.align - 1) / ops.align * ops.align;
    void* mem = ::operator new(off + ops.size);
    e = new (mem) E();
    try {
      make(static_cast<char*>(mem) + off, src);
    } catch (...) {
      delete e;
      throw;
    }
    e->msg = static_cast<char*>(mem) + off;
  } else {
    std::unique_ptr<E> owner(new E());
    void* m = ::operator new(ops.size, std::align_val_t(ops.align));
    try {
      make(m, src);
    } catch (...) {
      ::operator delete(m, std::align_val_t(ops.align));
      throw;
    }
    e = owner.release();
    e->msg = m;
    e->heap_align = ops.align;
  }
  e->destroy_msg = ops.destroy;
  e->invoke = ops.invoke;
  return e;
}

/// A local message: the typed payload moved in (never serialized), completed through a
/// call_state (none for casts).
template <class R>
struct local_envelope : envelope_base, payload_slot {
  call_state<call_result<R>>* state = nullptr;  // in the same block (local_call), or none (cast)
  invoke_fn invoke = nullptr;

  void const* init() const noexcept override { return init_arg; }
  bool abandoned() const noexcept override { return state && state->completed(); }
  bool deliver(void* self, context& ctx, activation_base& act) override {
    value_slot<R> slot;
    invoke(msg, self, ctx, &slot);
    if (slot.task) return start_task(*slot.task, *this, act);
    act.after_handler(self);  // the state is saved before the reply leaves
    reply(&slot, act);
    return false;
  }
  void reply(void* slot, activation_base& act) override {
    if (state) complete_reply<R>(*state, *static_cast<value_slot<R>*>(slot), act);
  }
  void fail(error e) override {
    if (state) complete_error<R>(*state, std::move(e));
  }
};

/// A queued local call: envelope, call state and payload in one allocation (see new_local_call).
/// The caller's future holds the state (an aliasing shared_ptr), the mailbox holds `self` until
/// dispose(); the block is freed when both are done.
template <class R>
struct local_call final : local_envelope<R> {
  call_state<call_result<R>> call;
  std::shared_ptr<local_call> self;

  explicit local_call(clock::time_point until) : call(until) {
    this->state = &call;
    this->deadline = until;
  }
  void dispose() noexcept override { auto last = std::move(self); }  // may destroy *this
};

/// Allocator for allocate_shared that appends `extra` bytes (aligned to `align`) to the block and
/// reports where they start: the payload of a local call lives there.
template <class T>
struct tail_allocator {
  using value_type = T;
  std::size_t extra, align;
  void** tail;
  tail_allocator(std::size_t e, std::size_t a, void** t) noexcept : extra(e), align(a), tail(t) {}
  template <class U>
  tail_allocator(tail_allocator<U> const& o) noexcept : extra(o.extra), align(o.align), tail(o.tail) {}
  // The block is aligned for both T and the payload; the aligned operator new (slower) only for
  // over-aligned payloads.
  bool over_aligned() const noexcept {
    return align > __STDCPP_DEFAULT_NEW_ALIGNMENT__ || alignof(T) > __STDCPP_DEFAULT_NEW_ALIGNMENT__;
  }
  std::align_val_t block_align() const noexcept { return std::align_val_t(align > alignof(T) ? align : alignof(T)); }
  T* allocate(std::size_t n) {
    std::size_t const off = (n * sizeof(T) + align - 1) / align * align;
    void* p = over_aligned() ? ::operator new(off + extra, block_align()) : ::operator new(off + extra);
    *tail = static_cast<char*>(p) + off;
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t) noexcept {
    if (over_aligned()) ::operator delete(p, block_align());
    else ::operator delete(p);
  }
  template <class U>
  bool operator==(tail_allocator<U> const&) const noexcept { return true; }
};

/// Queues an envelope on id's activation, retrying when that was retired concurrently. On
/// success the mailbox owns the envelope; on failure it stays with the caller. Not a template.
/// Times push_envelope looks an activation up again after finding it retired (only a race with
/// idle deactivation retires one; more than a few in a row means the node is stopping).
inline constexpr int max_push_attempts = 16;

[[gnu::noinline]] inline result<void> push_envelope(node_core& core, actor_table_base* table, std::string_view actor,
                                                    std::string_view id, envelope_ptr& e) {
  if (!table) return not_in_schema(actor);
  for (int attempt = 0; attempt < max_push_attempts; ++attempt) {
    if (core.stopping()) break;
    switch (table->push_to(id, e.get(), core.config().mailbox_capacity)) {
      case activation_base::push_result::ok: e.release(); return {};
      case activation_base::push_result::full: return mailbox_full(actor, id, core.config().mailbox_capacity);
      case activation_base::push_result::cycle: return call_cycle(actor, id);
      case activation_base::push_result::dead: continue;  // retired meanwhile: look up again
    }
  }
  return shutting_down(core.name());
}

}  // namespace mesh::detail
