#pragma once
/// detail::output_side<T>: the output of a local node whose output is T: its links, the emitter
/// port process() writes to, and the outbox of items held back by a full downstream queue.

#include <mesh/core/error.hpp>
#include <mesh/flow/emitter.hpp>
#include <mesh/flow/local_engine.hpp>
#include <mesh/flow/node_base.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace mesh::flow::detail {

/// The output side of a node whose output is T: links, the emitter port, and the items held back
/// by a full downstream queue (the outbox). Used only by the node's current turn.
template <class T>
class output_side final : public emit_port<T> {
 public:
  explicit output_side(node_base& self) : self_(self) {}

  void add(ref<node_base> target, sink<T>* s, std::shared_ptr<void> keep) {
    std::lock_guard lk(mu_);
    auto next = std::make_shared<std::vector<link<T>>>(links_ ? *links_ : std::vector<link<T>>{});
    next->push_back(link<T>{std::move(target), s, std::move(keep)});
    links_ = std::move(next);
    version_.fetch_add(1, std::memory_order_release);
  }
  void remove(node_base const* target) {
    std::lock_guard lk(mu_);
    if (!links_) return;
    auto next = std::make_shared<std::vector<link<T>>>(*links_);
    std::erase_if(*next, [&](link<T> const& l) { return l.node.get() == target; });
    links_ = std::move(next);
    version_.fetch_add(1, std::memory_order_release);
  }
  /// Picks up link changes (cheap when there are none).
  void refresh() {
    auto const v = version_.load(std::memory_order_acquire);
    if (v == seen_) return;
    std::lock_guard lk(mu_);
    current_ = links_;
    seen_ = version_.load(std::memory_order_relaxed);
  }
  bool holding() const noexcept { return !outbox_.empty(); }
  void clear() {
    {
      std::lock_guard lk(mu_);
      links_.reset();
      version_.fetch_add(1, std::memory_order_release);
    }
    current_.reset();
    outbox_.clear();
  }
  std::size_t discard_held() {
    auto const n = outbox_.size();
    outbox_.clear();
    return n;
  }

  void broadcast(T const& v) override {
    refresh();
    if (!current_) return;
    for (auto const& l : *current_) {
      T copy(v);
      push(l, copy);
    }
  }
  void broadcast(T&& v) override {
    refresh();
    if (!current_) return;
    auto const& ls = *current_;
    for (std::size_t i = 0; i + 1 < ls.size(); ++i) {
      T copy(v);
      push(ls[i], copy);
    }
    if (!ls.empty()) push(ls.back(), v);
  }
  result<void> send_to(node_id const& id, T&& v) override;

  /// Pushes what the outbox holds, in order. False: parked on a full node (the claim is kept and
  /// a waker resubmits the node); the caller must return at once without touching the node.
  bool flush(std::atomic<std::uint64_t>& parked) {
    while (!outbox_.empty()) {
      auto& e = outbox_.front();
      auto const st = e.first.to->try_push(e.second);
      if (st == push_status::full) {
        // Once `parked` is set a waker may resubmit this node, and its next turn may run on
        // another worker at once: from here on touch only locals (not the outbox), and take the
        // node back only with our own token (a later park has another one).
        ref<node_base> target = e.first.node;
        sink<T>* to = e.first.to;
        std::uint64_t const token = ++park_seq_;
        parked.store(token, std::memory_order_seq_cst);
        target->add_waiter(self_);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (!to->has_space()) return false;
        std::uint64_t expected = token;
        if (!parked.compare_exchange_strong(expected, 0, std::memory_order_acq_rel)) return false;  // resubmitted
        continue;
      }
      if (st == push_status::closed) self_.count_dropped();
      outbox_.pop_front();
    }
    return true;
  }

 private:
  void push(link<T> const& l, T& v) {
    if (!outbox_.empty()) {
      outbox_.emplace_back(l, std::move(v));
      return;
    }
    switch (l.to->try_push(v)) {
      case push_status::ok: return;
      case push_status::full: outbox_.emplace_back(l, std::move(v)); return;
      case push_status::closed: self_.count_dropped(); return;
    }
  }

  node_base& self_;
  std::mutex mu_;
  std::shared_ptr<std::vector<link<T>>> links_;
  std::atomic<std::uint64_t> version_{0};
  std::shared_ptr<std::vector<link<T>>> current_;
  std::uint64_t seen_ = ~std::uint64_t{0};
  std::deque<std::pair<link<T>, T>> outbox_;
  std::uint64_t park_seq_ = 0;
};

template <class T>
result<void> output_side<T>::send_to(node_id const& id, T&& v) {
  auto n = self_.engine().find(id);
  if (!n) {
    self_.count_undeliverable();
    return fail(errc::not_found, "send_to: no flow node " + id.to_string());
  }
  if (n->input_type() != key_of<T>()) {
    self_.count_undeliverable();
    return fail(errc::type_mismatch, "send_to: node " + id.to_string() + " takes " + n->input_name() + ", not " +
                                         type_name_of<T>());
  }
  auto* s = static_cast<sink<T>*>(n->input_sink());
  push(link<T>{std::move(n), s, {}}, v);
  return {};
}

template <>
class output_side<void> {
 public:
  explicit output_side(node_base&) {}
  bool holding() const noexcept { return false; }
  bool flush(std::atomic<std::uint64_t>&) { return true; }
  void refresh() {}
  void clear() {}
  std::size_t discard_held() { return 0; }
};

}  // namespace mesh::flow::detail
