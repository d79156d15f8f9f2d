#pragma once
/// detail::local_backend: the flow_backend of an in-process network (nodes on its own worker
/// threads), and the typed entry points the facade hands it (make a node, push a value, make a
/// converting link, read a logic). Pulls in neither msgpack nor ZeroMQ.

#include <mesh/core/error.hpp>
#include <mesh/flow/backend.hpp>
#include <mesh/flow/local_engine.hpp>
#include <mesh/flow/local_node.hpp>
#include <mesh/flow/logic.hpp>

#include <algorithm>
#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mesh::flow::detail {

// ---- typed entry points ------------------------------------------------------------------------
template <class L>
node_base* make_local_node(local_engine& e, node_id const& id, void const* options) {
  return new local_node<L>(e, id, *static_cast<options_t<L> const*>(options));
}
/// The erased description of logic L.
template <class L>
inline constexpr logic_ref logic_ref_v{key_of<L>(), flow::logic_name<L>(), &make_local_node<L>};

template <class V>
push_status push_value(node_base& n, void* v, clock::time_point const* deadline) {
  auto& in = static_cast<inbox<V>&>(n);
  auto& value = *static_cast<V*>(v);
  return deadline ? in.push_wait(value, *deadline) : in.try_push(value);
}

template <class Out, class In>
link_target make_converting(node_base& target) {
  auto conv = std::make_shared<converting_sink<Out, In>>(static_cast<inbox<In>*>(&target));
  void* s = static_cast<sink<Out>*>(conv.get());
  return link_target{s, std::move(conv)};
}
/// The conversion of a graph edge from Out to In.
template <class Out, class In>
inline constexpr conversion conversion_v{key_of<Out>(), key_of<In>(), &make_converting<Out, In>};

template <class L>
void retrieve_plain(node_base& n, void* out, void const*) {
  static_cast<local_node<L>&>(n).with_logic(
      [&](L const& l) { static_cast<std::optional<retrieve_t<L>>*>(out)->emplace(l.retrieve()); });
}
template <class L>
void retrieve_keyed(node_base& n, void* out, void const* key) {
  auto const& k = *static_cast<typename L::key const*>(key);
  static_cast<local_node<L>&>(n).with_logic(
      [&](L const& l) { static_cast<std::optional<keyed_retrieve_t<L>>*>(out)->emplace(l.retrieve(k)); });
}

// ---- the backend -------------------------------------------------------------------------------
class local_backend final : public flow_backend {
 public:
  explicit local_backend(network_config cfg) : engine_(std::move(cfg)) {}

  bool clustered() const noexcept override { return false; }

  result<void> start(std::span<start_request const> nodes) override {
    std::lock_guard topo(engine_.topology());
    for (auto const& r : nodes)
      if (engine_.find(*r.id)) return fail(errc::already_exists, "flow node " + r.id->to_string() + " already exists");
    std::vector<ref<node_base>> made;
    made.reserve(nodes.size());
    for (auto const& r : nodes) {
      try {
        made.push_back(ref<node_base>::from(*r.logic->make_local(engine_, *r.id, r.options)));
      } catch (std::exception const& e) {
        return fail(errc::invalid_argument, "constructor of logic " + std::string(r.logic->name) + " for node " +
                                                r.id->to_string() + " threw: " + e.what());
      }
    }
    for (auto& n : made) engine_.insert(std::move(n));
    return {};
  }

  result<void> stop(node_id const& id) override {
    std::lock_guard topo(engine_.topology());
    auto n = engine_.find(id);
    if (!n) return not_found(id);
    for (auto const& to : n->out_ids)
      if (auto t = engine_.find(to)) std::erase(t->in_ids, id);
    for (auto const& from : n->in_ids)
      if (auto s = engine_.find(from)) {
        s->remove_link(n.get());
        std::erase(s->out_ids, id);
      }
    n->out_ids.clear();
    n->in_ids.clear();
    engine_.erase(id);
    n->stop();
    return {};
  }

  result<void> connect(node_id const& from, node_id const& to, conversion const* conv) override {
    std::lock_guard topo(engine_.topology());
    auto a = engine_.find(from);
    if (!a) return not_found(from);
    auto b = engine_.find(to);
    if (!b) return not_found(to);
    if (conv) {
      if (a->output_type() != conv->out || b->input_type() != conv->in)
        return fail(errc::type_mismatch,
                    "cannot connect " + from.to_string() + " to " + to.to_string() + ": not the graph's types");
    } else {
      if (a->output_type() == key_of<void>())
        return fail(errc::type_mismatch, "cannot connect " + from.to_string() + " to " + to.to_string() + ": " +
                                             from.to_string() + " is a sink (its logic has no output)");
      if (a->output_type() != b->input_type())
        return fail(errc::type_mismatch, "cannot connect " + from.to_string() + " to " + to.to_string() + ": " +
                                             from.to_string() + " emits " + a->output_name() + " but " +
                                             to.to_string() + " takes " + b->input_name());
    }
    if (std::find(a->out_ids.begin(), a->out_ids.end(), to) != a->out_ids.end())
      return fail(errc::already_exists, "link " + from.to_string() + " -> " + to.to_string() + " exists");
    link_target t = conv ? conv->make(*b) : link_target{b->input_sink(), {}};
    a->add_link(b, t.sink, std::move(t.keep));
    a->out_ids.push_back(to);
    b->in_ids.push_back(from);
    return {};
  }

  result<void> disconnect(node_id const& from, node_id const& to) override {
    std::lock_guard topo(engine_.topology());
    auto a = engine_.find(from);
    if (!a) return not_found(from);
    auto b = engine_.find(to);
    if (!b) return not_found(to);
    auto it = std::find(a->out_ids.begin(), a->out_ids.end(), to);
    if (it == a->out_ids.end()) return fail(errc::not_found, "no link " + from.to_string() + " -> " + to.to_string());
    a->remove_link(b.get());
    a->out_ids.erase(it);
    std::erase(b->in_ids, from);
    return {};
  }

  result<void> send(node_id const& id, value_ref const& v, bool wait) override {
    auto n = engine_.find(id);
    if (!n) return not_found(id);
    if (n->input_type() != v.type)
      return fail(errc::type_mismatch, "flow node " + id.to_string() + " takes " + n->input_name() + ", not " +
                                           v.type_name());
    // From one of the network's own workers waiting could deadlock it: fail at once instead.
    std::optional<clock::time_point> deadline;
    if (wait && !engine_.sched().on_worker()) deadline = clock::now() + engine_.config().send_timeout;
    switch (v.push(*n, v.value, deadline ? &*deadline : nullptr)) {
      case push_status::ok: return {};
      case push_status::closed: return not_found(id);
      case push_status::full: break;
    }
    return fail(errc::overloaded, "input queue of flow node " + id.to_string() + " is full (" +
                                      std::to_string(n->queue_capacity()) + " items)");
  }

  result<void> retrieve(node_id const& id, logic_ref const& logic, retrieve_function local, void* out,
                        void const* key) override {
    auto n = engine_.find(id);
    if (!n) return not_found(id);
    if (n->logic_type() != logic.key)
      return fail(errc::type_mismatch, "flow node " + id.to_string() + " runs logic " + n->logic_name() + ", not " +
                                           std::string(logic.name));
    try {
      local(*n, out, key);
      return {};
    } catch (std::exception const& e) {
      return fail(errc::invalid_argument, "retrieve() of flow node " + id.to_string() + " threw: " + e.what());
    }
  }

  result<node_info> info(node_id const& id) override {
    auto n = engine_.find(id);
    if (!n) return not_found(id);
    std::lock_guard topo(engine_.topology());
    return n->info();
  }

  std::vector<node_id> nodes() override {
    std::vector<node_id> ids;
    for (auto const& n : engine_.all_nodes()) ids.push_back(n->id());
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  bool wait_idle(std::chrono::milliseconds timeout) override { return engine_.wait_idle(timeout); }

 private:
  static mesh::error not_found(node_id const& id) { return fail(errc::not_found, "no flow node " + id.to_string()); }

  local_engine engine_;
};

}  // namespace mesh::flow::detail
