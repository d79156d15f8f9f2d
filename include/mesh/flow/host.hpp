#pragma once
/// mesh::flow::host<Logics...>: the actor that hosts flow nodes on cluster members, one node per
/// activation (actor id = the node id's canonical text), and mesh::flow::flow_capability, the
/// capability of the members that host them.

#include <mesh/core/capability.hpp>
#include <mesh/core/error.hpp>
#include <mesh/core/list.hpp>
#include <mesh/flow/host_messages.hpp>
#include <mesh/flow/host_rules.hpp>
#include <mesh/flow/hosted_node.hpp>
#include <mesh/flow/logic.hpp>
#include <mesh/node.hpp>
#include <mesh/wire/codec.hpp>

#include <algorithm>
#include <exception>
#include <memory>
#include <string>
#include <string_view>

namespace mesh::flow {

/// The capability of members that host flow nodes: `node.register_capabilities<mesh::flow::flow_capability>()`.
struct flow_capability : mesh::capability<"mesh.flow"> {};

/// The actor that hosts flow nodes on cluster members; list it in the schema with every logic
/// that may run on the cluster: `mesh::schema<MyActor, mesh::flow::host<Source, Filter, Sink>>`.
/// Members that register flow_capability host flow nodes (placed by id, like actors).
template <class... Logics>
struct host {
  static constexpr mesh::fixed_string name = "mesh.flow";
  using capability = flow_capability;
  using messages = mesh::list<detail::fm_start, detail::fm_stop, detail::fm_link, detail::fm_unlink, detail::fm_linked,
                              detail::fm_data, detail::fm_retrieve, detail::fm_info, detail::fm_idle>;
  using logics = mesh::list<Logics...>;
  /// True when every logic may cross processes (else one `mesh:` error was emitted).
  static constexpr bool valid = detail::check_host<Logics...>();

  explicit host(std::string_view id) { st_.canon = std::string(id); }

  detail::fm_status handle(detail::fm_start const& m, mesh::context&) {
    if (node_) return detail::status_of(errc::already_exists, "flow node " + m.id.to_string() + " already exists");
    if constexpr (valid) {
      st_.id = m.id;
      detail::fm_status s =
          detail::status_of(errc::not_found, "logic '" + m.logic + "' is not listed in mesh::flow::host<...>");
      auto try_one = [&]<class L>(L*) {
        if (std::string_view(L::name) != m.logic) return false;
        auto o = wire::decode<options_t<L>>(m.options);
        if (!o) {
          s = detail::status_of(errc::bad_message, "options of logic '" + m.logic + "': " + o.error().message);
          return true;
        }
        try {
          node_ = std::make_unique<detail::hosted<host, L>>(st_, m.id, *o);
          s = detail::ok_status();
        } catch (std::exception const& e) {
          s = detail::status_of(errc::invalid_argument, "constructor of logic " + m.logic + " for node " +
                                                            m.id.to_string() + " threw: " + e.what());
        }
        return true;
      };
      (try_one(static_cast<Logics*>(nullptr)) || ...);
      return s;
    } else {
      return detail::status_of(errc::invalid_argument, "invalid host");
    }
  }
  detail::fm_stopped handle(detail::fm_stop const&, mesh::context&) {
    if (!node_) return detail::fm_stopped{missing(), {}, {}};
    detail::fm_stopped r{detail::ok_status(), std::move(node_->in_ids), std::move(node_->out_ids)};
    node_.reset();
    return r;
  }
  detail::fm_status handle(detail::fm_link const& m, mesh::context&) {
    if (!node_) return missing();
    auto const& self = st_.id.to_string();
    if (node_->is_sink())
      return detail::status_of(errc::type_mismatch, "cannot connect " + self + " to " + m.target.to_string() + ": " +
                                                        self + " is a sink (its logic has no output)");
    if (!m.convertible && node_->output_signature() != m.target_input)
      return detail::status_of(errc::type_mismatch, "cannot connect " + self + " to " + m.target.to_string() + ": " +
                                                        self + " emits " + node_->output_name() + " but " +
                                                        m.target.to_string() + " takes " + m.target_input_name);
    auto& out = node_->out_ids;
    if (std::find(out.begin(), out.end(), m.target) != out.end())
      return detail::status_of(errc::already_exists, "link " + self + " -> " + m.target.to_string() + " exists");
    out.push_back(m.target);
    return detail::ok_status();
  }
  detail::fm_status handle(detail::fm_unlink const& m, mesh::context&) {
    if (!node_) return missing();
    auto& out = node_->out_ids;
    auto it = std::find(out.begin(), out.end(), m.target);
    if (it == out.end())
      return detail::status_of(errc::not_found, "no link " + st_.id.to_string() + " -> " + m.target.to_string());
    out.erase(it);
    return detail::ok_status();
  }
  detail::fm_status handle(detail::fm_linked const& m, mesh::context&) {
    if (!node_) return missing();
    if (m.add) node_->in_ids.push_back(m.from);
    else std::erase(node_->in_ids, m.from);
    return detail::ok_status();
  }
  /// One item, from send_data (a call: the status is its result) or from another node (a cast).
  /// The sender appends its own type's name to a type_mismatch text.
  detail::fm_status handle(detail::fm_data const& m, mesh::context& ctx) {
    ++st_.received;
    if (!node_) return missing();
    if (m.type != node_->input_signature())
      return detail::status_of(errc::type_mismatch,
                               "flow node " + st_.id.to_string() + " takes " + node_->input_name());
    st_.ctx = &ctx;
    node_->process(m);
    st_.ctx = nullptr;
    return detail::ok_status();
  }
  detail::fm_retrieved handle(detail::fm_retrieve const& m, mesh::context&) {
    if (!node_) return detail::fm_retrieved{missing(), {}};
    if (m.logic != node_->logic_name())
      return detail::fm_retrieved{detail::status_of(errc::type_mismatch, "flow node " + st_.id.to_string() +
                                                                             " runs logic " + node_->logic_name() +
                                                                             ", not " + m.logic),
                                  {}};
    return node_->retrieve(m);
  }
  detail::fm_info_reply handle(detail::fm_info const&, mesh::context& ctx) {
    if (!node_) return detail::fm_info_reply{missing(), {}};
    return detail::fm_info_reply{detail::ok_status(), node_->info(0, 0, std::string(ctx.node_name()))};
  }
  detail::fm_counters handle(detail::fm_idle const&, mesh::context&) {
    return detail::fm_counters{st_.received, st_.emitted};
  }

 private:
  detail::fm_status missing() const {
    return detail::status_of(errc::not_found, "no flow node " + (st_.id == node_id() ? st_.canon : st_.id.to_string()));
  }

  detail::host_state st_;
  std::unique_ptr<detail::hosted_base> node_;
};

}  // namespace mesh::flow
