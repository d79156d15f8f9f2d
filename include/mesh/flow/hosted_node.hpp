#pragma once
/// detail::hosted<H, L>: a flow node running logic L inside a host activation on a cluster
/// member. Its names, links, counters and error handling are the shared node_state, its logic
/// is called through the shared logic_instance; the activation's mailbox is its input queue
/// (one item at a time) and its output goes out as casts to the hosts of its targets.

#include <mesh/actor/context.hpp>
#include <mesh/core/error.hpp>
#include <mesh/flow/emitter.hpp>
#include <mesh/flow/host_messages.hpp>
#include <mesh/flow/logic.hpp>
#include <mesh/flow/logic_instance.hpp>
#include <mesh/flow/node_state.hpp>
#include <mesh/flow/type_signature.hpp>
#include <mesh/wire/codec.hpp>

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace mesh::flow::detail {

/// Hosted nodes log to stderr: a network_config's logger lives in the process that made the
/// network, not on the member running the node.
inline log_function const hosted_logger{};

/// What a host activation keeps whether or not it runs a node: the counters wait_idle polls,
/// and the handler's context while one runs.
struct host_state {
  node_id id;
  std::string canon;
  std::uint64_t received = 0, emitted = 0;
  mesh::context* ctx = nullptr;  // valid during a handler only
};

/// A hosted node, whatever its logic.
class hosted_base : public node_state {
 public:
  using node_state::node_state;
  virtual ~hosted_base() = default;
  /// signature_v of the logic's input and output.
  virtual std::uint64_t input_signature() const noexcept = 0;
  virtual std::uint64_t output_signature() const noexcept = 0;
  virtual bool is_sink() const noexcept = 0;
  /// Runs the logic on one item whose type was checked (d.type == input_signature()).
  virtual void process(fm_data const& d) = 0;
  virtual fm_retrieved retrieve(fm_retrieve const& r) const = 0;
};

struct no_output {};
// A sink's port: emit_port's virtuals over no_output, so that hosted's port members override in both cases.
struct no_port : emit_port<no_output> {
 protected:
  ~no_port() = default;
};

template <class H, class L>
class hosted final : public hosted_base,
                     public std::conditional_t<std::is_void_v<output_t<L>>, no_port, emit_port<output_t<L>>> {
  using In = input_t<L>;
  using Out = output_t<L>;
  using O = std::conditional_t<std::is_void_v<Out>, no_output, Out>;

 public:
  /// Constructs the logic (throws what its constructor throws).
  hosted(host_state& st, node_id id, options_t<L> const& o)
      : hosted_base(std::move(id), names_of<L>(o), hosted_logger), st_(st), logic_(o) {}

  std::uint64_t input_signature() const noexcept override { return signature_v<In>; }
  std::uint64_t output_signature() const noexcept override { return signature_v<Out>; }
  bool is_sink() const noexcept override { return std::is_void_v<Out>; }

  void process(fm_data const& d) override {
    auto v = wire::decode<In>(d.bytes);
    if (!v) return on_bad_item(v.error().message);
    bool ok;
    if constexpr (std::is_void_v<Out>) {
      emitter<void> em;
      ok = logic_.process(*v, em, *this);
    } else {
      emitter<Out> em(*this);
      ok = logic_.process(*v, em, *this);
    }
    if (ok) count_processed(1);
  }

  fm_retrieved retrieve(fm_retrieve const& r) const override {
    fm_retrieved out{};
    try {
      if (!r.keyed) {
        if constexpr (has_retrieve<L>) out.bytes = wire::encode(logic_.get().retrieve());
        else out.status = status_of(errc::invalid_argument, "logic has no retrieve()");
      } else {
        if constexpr (has_keyed_retrieve<L>) {
          auto k = wire::decode<typename L::key>(r.key);
          if (!k) return fm_retrieved{status_of(errc::bad_message, k.error().message), {}};
          out.bytes = wire::encode(logic_.get().retrieve(*k));
        } else {
          out.status = status_of(errc::invalid_argument, "logic has no retrieve(key)");
        }
      }
    } catch (std::exception const& e) {
      out.status = status_of(errc::invalid_argument, std::string("retrieve() threw: ") + e.what());
    }
    return out;
  }

  // emit_port<Out>
  void broadcast(O const& v) override {
    if constexpr (!std::is_void_v<Out>) send_all(wire::encode(v));
  }
  void broadcast(O&& v) override {
    if constexpr (!std::is_void_v<Out>) send_all(wire::encode(v));
  }
  result<void> send_to(node_id const& id, O&& v) override {
    if constexpr (std::is_void_v<Out>) {
      (void)id, (void)v;
      return fail(errc::type_mismatch, "a sink cannot emit");
    } else {
      auto r = st_.ctx->template cast<H>(id.to_string(), fm_data{signature_v<Out>, wire::encode(v)});
      if (!r) count_undeliverable();
      else ++st_.emitted;
      return r;
    }
  }

 private:
  void send_all(std::string const& bytes) {
    for (auto const& to : out_ids) {
      auto r = st_.ctx->template cast<H>(to.to_string(), fm_data{signature_v<O>, bytes});
      if (r) ++st_.emitted;
      else count_dropped();
    }
  }

  host_state& st_;
  logic_instance<L> logic_;
};

}  // namespace mesh::flow::detail
