#pragma once
/// detail::local_node<L>: a node of a local network running logic L: its input queue, its
/// output side, and its turn on a worker (a batch of items, then park, yield or release).

#include <mesh/flow/emitter.hpp>
#include <mesh/flow/local_engine.hpp>
#include <mesh/flow/logic.hpp>
#include <mesh/flow/logic_instance.hpp>
#include <mesh/flow/node_base.hpp>
#include <mesh/flow/output_side.hpp>

#include <cstddef>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>

namespace mesh::flow::detail {

template <class L>
class local_node final : public inbox<input_t<L>> {
  using In = input_t<L>;
  using Out = output_t<L>;
  using base = inbox<In>;

 public:
  /// Constructs the logic from `opts` (throws what its constructor throws).
  local_node(local_engine& e, node_id id, options_t<L> const& opts)
      : base(e, std::move(id), names_of<L>(opts), node_base::keys{key_of<In>(), key_of<Out>(), key_of<L>()},
             e.config().logger, e.config().queue_capacity),
        logic_(opts),
        out_(*this) {}

  void add_link(ref<node_base> target, void* s, std::shared_ptr<void> keep) override {
    if constexpr (!std::is_void_v<Out>) out_.add(std::move(target), static_cast<sink<Out>*>(s), std::move(keep));
    else (void)target, (void)s, (void)keep;
  }
  void remove_link(node_base const* target) override {
    if constexpr (!std::is_void_v<Out>) out_.remove(target);
    else (void)target;
  }
  void clear_references() override {
    out_.clear();
    std::lock_guard lk(this->waiters_mu_);
    this->waiters_.clear();
  }

  /// Runs `f(logic)` under the state lock (retrieve_data).
  template <class F>
  decltype(auto) with_logic(F&& f) {
    std::lock_guard lk(this->state_mu_);
    return std::forward<F>(f)(logic_.get());
  }

  void run() override {
    if (this->stopped()) return finish();
    if (out_.holding() && !out_.flush(this->parked_)) return;  // still parked
    std::size_t const budget = this->engine().config().batch;
    std::size_t n = 0, failed = 0;
    {
      std::lock_guard lk(this->state_mu_);
      auto drain = [&](auto& em) {
        while (n < budget) {
          In* item = this->q_.front();
          if (!item) break;
          if (!logic_.process(*item, em, *this)) ++failed;
          this->q_.pop();
          ++n;
          if (out_.holding()) break;  // a target is full: park before processing more
        }
      };
      if constexpr (std::is_void_v<Out>) {
        emitter<void> em;
        drain(em);
      } else {
        emitter<Out> em(out_);
        drain(em);
      }
    }
    this->count_processed(n - failed);
    this->notify_space();
    if (out_.holding() && !out_.flush(this->parked_)) return;  // parked: a waker resubmits us
    if (n == budget) this->resubmit();
    else this->release_claim();
  }

 private:
  /// The node was stopped: discard what is queued and held, let go of links and waiters.
  void finish() {
    std::size_t n = 0;
    while (this->q_.front()) {
      this->q_.pop();
      ++n;
    }
    n += out_.discard_held();
    this->count_dropped(n);
    out_.clear();
    this->notify_space();
    this->claimed_.store(false, std::memory_order_release);
  }

  logic_instance<L> logic_;
  output_side<Out> out_;
};

}  // namespace mesh::flow::detail
