#pragma once
/// Networks that span the processes of a mesh cluster. A flow node lives in an activation of
/// the actor mesh::flow::host<Logics...> (listed in the schema) whose id is the node id's
/// canonical text: it is placed like any actor, by shard, on the members that registered
/// mesh::flow::flow_capability, and its links and data travel as casts over the cluster's
/// ZeroMQ transport. `mesh::flow::network net{node};` gives the same API as a local network.
/// See docs/flow.md, "Networks across processes".

#include <mesh/flow/network.hpp>
#include <mesh/node.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

// ---- node_id and node_info on the wire ---------------------------------------------------------
// A node_id travels as what it is: a msgpack string, integer, or array of ids.
template <>
struct mesh::wire::is_serializable<mesh::flow::node_id> : std::true_type {};

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
namespace adaptor {
template <>
struct convert<mesh::flow::node_id> {
  msgpack::object const& operator()(msgpack::object const& o, mesh::flow::node_id& v) const {
    switch (o.type) {
      case msgpack::type::STR: v = mesh::flow::node_id(std::string(o.via.str.ptr, o.via.str.size)); break;
      case msgpack::type::POSITIVE_INTEGER: v = mesh::flow::node_id::integer(false, o.via.u64); break;
      case msgpack::type::NEGATIVE_INTEGER:
        v = mesh::flow::node_id::integer(true, std::uint64_t(0) - static_cast<std::uint64_t>(o.via.i64));
        break;
      case msgpack::type::ARRAY: {
        std::vector<mesh::flow::node_id> elems(o.via.array.size);
        for (std::uint32_t i = 0; i < o.via.array.size; ++i) o.via.array.ptr[i].convert(elems[i]);
        v = mesh::flow::node_id::tuple(std::move(elems));
        break;
      }
      default: throw msgpack::type_error();
    }
    return o;
  }
};
template <>
struct pack<mesh::flow::node_id> {
  template <class Stream>
  msgpack::packer<Stream>& operator()(msgpack::packer<Stream>& o, mesh::flow::node_id const& v) const {
    switch (v.type()) {
      case mesh::flow::node_id::kind::string: o.pack(v.str()); break;
      case mesh::flow::node_id::kind::integer:
        if (v.negative()) o.pack_int64(static_cast<std::int64_t>(std::uint64_t(0) - v.magnitude()));
        else o.pack_uint64(v.magnitude());
        break;
      case mesh::flow::node_id::kind::tuple:
        o.pack_array(static_cast<std::uint32_t>(v.elements().size()));
        for (auto const& e : v.elements()) o.pack(e);
        break;
    }
    return o;
  }
};
}  // namespace adaptor
}
}  // namespace msgpack

BOOST_HANA_ADAPT_STRUCT(mesh::flow::node_info, id, logic, options, input_type, output_type, links, location, processed,
                        errors, dropped, undeliverable, queued, capacity, last_error);

namespace mesh::flow {

/// The capability of members that host flow nodes: `node.register_capabilities<mesh::flow::flow_capability>()`.
struct flow_capability : mesh::capability<"mesh.flow"> {};

namespace detail {

// ---- the host actor's messages (their order in host::messages is the wire order) ----------------
struct fm_status {
  BOOST_HANA_DEFINE_STRUCT(fm_status, (std::uint16_t, code), (std::string, text));
};
struct fm_start {
  BOOST_HANA_DEFINE_STRUCT(fm_start, (node_id, id), (std::string, logic), (std::string, options));
};
struct fm_stop {};
struct fm_stopped {
  BOOST_HANA_DEFINE_STRUCT(fm_stopped, (fm_status, status), (std::vector<node_id>, in), (std::vector<node_id>, out));
};
struct fm_link {
  BOOST_HANA_DEFINE_STRUCT(fm_link, (node_id, target), (std::string, target_input), (bool, convertible));
};
struct fm_unlink {
  BOOST_HANA_DEFINE_STRUCT(fm_unlink, (node_id, target));
};
struct fm_linked {
  BOOST_HANA_DEFINE_STRUCT(fm_linked, (node_id, from), (bool, add));
};
struct fm_data {
  BOOST_HANA_DEFINE_STRUCT(fm_data, (std::string, type), (std::string, bytes));
};
struct fm_retrieve {
  BOOST_HANA_DEFINE_STRUCT(fm_retrieve, (std::string, logic), (bool, keyed), (std::string, key));
};
struct fm_retrieved {
  BOOST_HANA_DEFINE_STRUCT(fm_retrieved, (fm_status, status), (std::string, bytes));
};
struct fm_info {};
struct fm_info_reply {
  BOOST_HANA_DEFINE_STRUCT(fm_info_reply, (fm_status, status), (node_info, info));
};
struct fm_idle {};
struct fm_counters {
  BOOST_HANA_DEFINE_STRUCT(fm_counters, (std::uint64_t, received), (std::uint64_t, emitted));
};

inline fm_status ok_status() { return {}; }
inline fm_status status_of(errc c, std::string text) { return fm_status{static_cast<std::uint16_t>(c), std::move(text)}; }
inline result<void> to_result(fm_status const& s) {
  if (s.code == 0) return {};
  return error{static_cast<errc>(s.code), s.text};
}

}  // namespace detail

// ---- rules for logics that cross processes ----------------------------------------------------
namespace diagnostics {
template <class Logic>
struct flow_logic_needs_a_name_to_cross_processes {
  static_assert(always_false<Logic>, "mesh: a logic of mesh::flow::host needs `static constexpr mesh::fixed_string "
                                     "name = \"...\";` (its stable identity across processes)");
};
template <class Logic, class T>
struct flow_logic_type_not_serializable {
  static_assert(always_false<T>, "mesh: a logic of mesh::flow::host has an input, output, options, key or retrieve "
                                 "type that is not serializable; reflect it with BOOST_HANA_DEFINE_STRUCT or use "
                                 "types msgpack supports");
};
template <class Logic>
struct flow_host_logic_names_not_unique {
  static_assert(always_false<Logic>, "mesh: two logics of mesh::flow::host share this logic's name; give each a "
                                     "unique `name`");
};
template <class Node>
struct flow_network_needs_a_host_in_the_schema {
  static_assert(always_false<Node>, "mesh: a flow network attached to a mesh::node needs mesh::flow::host<Logics...> "
                                    "in the node's schema");
};
}  // namespace diagnostics

namespace detail {

template <class L, class T>
constexpr bool check_serializable() {
  if constexpr (std::is_void_v<T> || wire::is_serializable_v<T>) {
    return true;
  } else {
    (void)sizeof(diagnostics::flow_logic_type_not_serializable<L, T>);
    return false;
  }
}
template <class L>
constexpr bool check_keyed_serializable() {
  if constexpr (has_keyed_retrieve<L>) {
    if constexpr (!check_serializable<L, typename L::key>()) return false;
    else return check_serializable<L, keyed_retrieve_t<L>>();
  } else {
    return true;
  }
}
template <class L>
constexpr bool check_hosted_logic() {
  if constexpr (!is_valid_logic_v<L>) {
    return false;
  } else if constexpr (!mesh::detail::has_actor_name<L>) {
    (void)sizeof(diagnostics::flow_logic_needs_a_name_to_cross_processes<L>);
    return false;
  } else if constexpr (!check_serializable<L, input_t<L>>() || !check_serializable<L, output_t<L>>() ||
                       !check_serializable<L, options_t<L>>()) {
    return false;
  } else if constexpr (has_retrieve<L>) {
    if constexpr (!check_serializable<L, retrieve_t<L>>()) return false;
    else return check_keyed_serializable<L>();
  } else {
    return check_keyed_serializable<L>();
  }
}
template <class L>
struct hosted_logic_ok : std::bool_constant<check_hosted_logic<L>()> {};

template <class... Ls>
constexpr bool check_host() {
  if constexpr (!std::conjunction_v<hosted_logic_ok<Ls>...>) {
    return false;
  } else {
    constexpr std::array<std::string_view, sizeof...(Ls)> names{std::string_view(Ls::name)...};
    constexpr std::size_t clash = [&] {
      for (std::size_t i = 0; i < names.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
          if (names[i] == names[j]) return i;
      return names.size();
    }();
    if constexpr (clash < sizeof...(Ls)) {
      (void)sizeof(diagnostics::flow_host_logic_names_not_unique<mesh::detail::list_at_t<clash, list<Ls...>>>);
      return false;
    } else {
      return true;
    }
  }
}

/// Counters of one host activation (for wait_idle) and its links, shared with its logic.
struct host_state {
  node_id id;
  std::string canon;
  std::vector<node_id> out, in;
  std::uint64_t received = 0, emitted = 0;
  mesh::context* ctx = nullptr;  // valid during a handler only
};

/// One logic instance inside a host activation, type-erased.
struct hosted_base {
  virtual ~hosted_base() = default;
  virtual std::string_view logic_name() const = 0;
  virtual std::string input_name() const = 0;
  virtual std::string output_name() const = 0;
  virtual void process(fm_data const& d) = 0;
  virtual fm_retrieved retrieve(fm_retrieve const& r) const = 0;
  std::string options;
  std::uint64_t processed = 0, errors = 0, dropped = 0, undeliverable = 0;
  std::string last_error;
};

struct no_port {};
struct no_output {};

template <class H, class L>
class hosted final : public hosted_base,
                     public std::conditional_t<std::is_void_v<output_t<L>>, no_port, emit_port<output_t<L>>> {
  using In = input_t<L>;
  using Out = output_t<L>;
  using O = std::conditional_t<std::is_void_v<Out>, no_output, Out>;

 public:
  hosted(host_state& st, options_t<L> const& o) : st_(st), logic_(make(o)) {
    if constexpr (has_options<L>) options = summary_of(o);
  }

  std::string_view logic_name() const override { return std::string_view(L::name); }
  std::string input_name() const override { return type_name_of<In>(); }
  std::string output_name() const override { return type_name_of<Out>(); }

  void process(fm_data const& d) override {
    if (d.type != input_name()) {
      ++undeliverable;
      last_error = "received " + d.type + ", expected " + input_name();
      return;
    }
    auto v = wire::decode<In>(d.bytes);
    if (!v) {
      ++errors;
      last_error = v.error().message;
      return;
    }
    try {
      if constexpr (rolls_back_on_error<L>) {
        L saved(logic_);
        try {
          call(*v);
        } catch (...) {
          logic_ = std::move(saved);
          throw;
        }
      } else {
        call(*v);
      }
      ++processed;
    } catch (std::exception const& e) {
      on_error(e.what());
    } catch (...) {
      on_error("unknown exception");
    }
  }

  fm_retrieved retrieve(fm_retrieve const& r) const override {
    fm_retrieved out{};
    try {
      if (!r.keyed) {
        if constexpr (has_retrieve<L>) out.bytes = wire::encode(logic_.retrieve());
        else out.status = status_of(errc::invalid_argument, "logic has no retrieve()");
      } else {
        if constexpr (has_keyed_retrieve<L>) {
          auto k = wire::decode<typename L::key>(r.key);
          if (!k) return fm_retrieved{status_of(errc::bad_message, k.error().message), {}};
          out.bytes = wire::encode(logic_.retrieve(*k));
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
  void broadcast(O const& v) {
    if constexpr (!std::is_void_v<Out>) send_all(wire::encode(v));
  }
  void broadcast(O&& v) {
    if constexpr (!std::is_void_v<Out>) send_all(wire::encode(v));
  }
  result<void> send_to(node_id const& id, O&& v) {
    if constexpr (std::is_void_v<Out>) {
      (void)id, (void)v;
      return fail(errc::type_mismatch, "a sink cannot emit");
    } else {
      auto r = st_.ctx->template cast<H>(id.to_string(), fm_data{type_name_of<Out>(), wire::encode(v)});
      if (!r) ++undeliverable;
      else ++st_.emitted;
      return r;
    }
  }

 private:
  static L make(options_t<L> const& o) {
    if constexpr (has_options<L>) return L(o);
    else return L();
  }
  void call(In const& v) {
    if constexpr (std::is_void_v<Out>) {
      if constexpr (processes_with_emitter<L>) {
        emitter<void> em;
        logic_.process(v, em);
      } else {
        logic_.process(v);
      }
    } else {
      emitter<Out> em(*this);
      logic_.process(v, em);
    }
  }
  void send_all(std::string const& bytes) {
    for (auto const& to : st_.out) {
      auto r = st_.ctx->template cast<H>(to.to_string(), fm_data{type_name_of<O>(), bytes});
      if (r) ++st_.emitted;
      else ++dropped;
    }
  }
  void on_error(char const* what) {
    ++errors;
    last_error = what;
    if (errors <= 10 || errors % 1000 == 0)
      std::fprintf(stderr, "[mesh.flow] node %s (%s): process() threw (error #%llu): %s; the node keeps running\n",
                   st_.canon.c_str(), std::string(L::name).c_str(), static_cast<unsigned long long>(errors), what);
  }

  host_state& st_;
  L logic_;
};

}  // namespace detail

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
      detail::fm_status s = detail::status_of(errc::not_found, "logic '" + m.logic + "' is not listed in mesh::flow::host<...>");
      auto try_one = [&]<class L>(L*) {
        if (std::string_view(L::name) != m.logic) return false;
        auto o = wire::decode<options_t<L>>(m.options);
        if (!o) {
          s = detail::status_of(errc::bad_message, "options of logic '" + m.logic + "': " + o.error().message);
          return true;
        }
        try {
          node_ = std::make_unique<detail::hosted<host, L>>(st_, *o);
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
    node_.reset();
    detail::fm_stopped r{detail::ok_status(), std::move(st_.in), std::move(st_.out)};
    st_.in.clear();
    st_.out.clear();
    return r;
  }
  detail::fm_status handle(detail::fm_link const& m, mesh::context&) {
    if (!node_) return missing();
    if (node_->output_name() == "void")
      return detail::status_of(errc::type_mismatch, "cannot connect " + st_.id.to_string() + " to " +
                                                        m.target.to_string() + ": " + st_.id.to_string() +
                                                        " is a sink (its logic has no output)");
    if (!m.convertible && node_->output_name() != m.target_input)
      return detail::status_of(errc::type_mismatch, "cannot connect " + st_.id.to_string() + " to " +
                                                        m.target.to_string() + ": " + st_.id.to_string() + " emits " +
                                                        node_->output_name() + " but " + m.target.to_string() +
                                                        " takes " + m.target_input);
    if (std::find(st_.out.begin(), st_.out.end(), m.target) != st_.out.end())
      return detail::status_of(errc::already_exists,
                               "link " + st_.id.to_string() + " -> " + m.target.to_string() + " exists");
    st_.out.push_back(m.target);
    return detail::ok_status();
  }
  detail::fm_status handle(detail::fm_unlink const& m, mesh::context&) {
    if (!node_) return missing();
    auto it = std::find(st_.out.begin(), st_.out.end(), m.target);
    if (it == st_.out.end())
      return detail::status_of(errc::not_found, "no link " + st_.id.to_string() + " -> " + m.target.to_string());
    st_.out.erase(it);
    return detail::ok_status();
  }
  detail::fm_status handle(detail::fm_linked const& m, mesh::context&) {
    if (!node_) return missing();
    if (m.add) st_.in.push_back(m.from);
    else std::erase(st_.in, m.from);
    return detail::ok_status();
  }
  detail::fm_status handle(detail::fm_data const& m, mesh::context& ctx) {
    ++st_.received;
    if (!node_) return missing();
    if (m.type != node_->input_name())
      return detail::status_of(errc::type_mismatch, "flow node " + st_.id.to_string() + " takes " +
                                                        node_->input_name() + ", not " + m.type);
    st_.ctx = &ctx;
    node_->process(m);
    st_.ctx = nullptr;
    return detail::ok_status();
  }
  detail::fm_retrieved handle(detail::fm_retrieve const& m, mesh::context&) {
    if (!node_) return detail::fm_retrieved{missing(), {}};
    if (m.logic != node_->logic_name())
      return detail::fm_retrieved{detail::status_of(errc::type_mismatch, "flow node " + st_.id.to_string() +
                                                                             " runs logic " + std::string(node_->logic_name()) +
                                                                             ", not " + m.logic),
                                  {}};
    return node_->retrieve(m);
  }
  detail::fm_info_reply handle(detail::fm_info const&, mesh::context& ctx) {
    if (!node_) return detail::fm_info_reply{missing(), {}};
    node_info i;
    i.id = st_.id;
    i.logic = std::string(node_->logic_name());
    i.options = node_->options;
    i.input_type = node_->input_name();
    i.output_type = node_->output_name();
    i.links = st_.out;
    i.location = std::string(ctx.node_name());
    i.processed = node_->processed;
    i.errors = node_->errors;
    i.dropped = node_->dropped;
    i.undeliverable = node_->undeliverable;
    i.last_error = node_->last_error;
    return detail::fm_info_reply{detail::ok_status(), std::move(i)};
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

namespace detail {

template <class T> struct is_host : std::false_type {};
template <class... Ls> struct is_host<host<Ls...>> : std::true_type {};

template <class... As>
struct host_in;
template <>
struct host_in<> {
  using type = void;
};
template <class A, class... As>
struct host_in<A, As...> {
  using type = std::conditional_t<is_host<A>::value, A, typename host_in<As...>::type>;
};

/// The operations of a network attached to a node whose schema lists H = host<Logics...>.
template <class S, class H>
class cluster_backend;

template <class S, class... Logics>
class cluster_backend<S, host<Logics...>> final : public remote_backend {
  using H = host<Logics...>;

 public:
  cluster_backend(mesh::node<S>& n, network_config cfg) : node_(n), cfg_(std::move(cfg)) {}

  result<void> start(node_id const& id, type_key logic, std::string_view name, void const* options) override {
    std::optional<result<void>> r;
    auto one = [&]<class L>(L*) {
      if (key_of<L>() != logic) return false;
      auto const& o = *static_cast<options_t<L> const*>(options);
      auto reply = call(id, fm_start{id, std::string(L::name), wire::encode(o)});
      if (!reply) r = std::move(reply).error();
      else r = to_result(reply->value);
      return true;
    };
    (one(static_cast<Logics*>(nullptr)) || ...);
    if (!r)
      return fail(errc::not_found, "logic " + std::string(name) + " is not listed in the schema's mesh::flow::host<...>");
    if (*r) {
      std::lock_guard lk(m_);
      known_.insert(id);
    }
    return std::move(*r);
  }

  result<void> stop(node_id const& id) override {
    auto counters = call(id, fm_idle{});
    auto reply = call(id, fm_stop{});
    if (!reply) return std::move(reply).error();
    if (auto ok = to_result(reply->value.status); !ok) return ok;
    if (counters) {  // keep wait_idle's sums balanced without this node
      retired_received_.fetch_add(counters->value.received, std::memory_order_relaxed);
      retired_emitted_.fetch_add(counters->value.emitted, std::memory_order_relaxed);
    }
    for (auto const& from : reply->value.in) (void)call(from, fm_unlink{id});
    for (auto const& to : reply->value.out) (void)call(to, fm_linked{id, false});
    std::lock_guard lk(m_);
    known_.erase(id);
    return {};
  }

  result<void> connect(node_id const& from, node_id const& to, bool convertible) override {
    auto a = info(from);
    if (!a) return std::move(a).error();
    auto b = info(to);
    if (!b) return std::move(b).error();
    auto linked = call(from, fm_link{to, b->input_type, convertible});
    if (!linked) return std::move(linked).error();
    if (auto ok = to_result(linked->value); !ok) return ok;
    auto back = call(to, fm_linked{from, true});
    if (!back) return std::move(back).error();
    return to_result(back->value);
  }

  result<void> disconnect(node_id const& from, node_id const& to) override {
    auto b = info(to);
    if (!b) return std::move(b).error();
    auto r = call(from, fm_unlink{to});
    if (!r) return std::move(r).error();
    if (auto ok = to_result(r->value); !ok) return ok;
    (void)call(to, fm_linked{from, false});
    return {};
  }

  result<void> send(node_id const& id, type_key type, std::string_view type_name, void const* value) override {
    std::optional<std::string> bytes;
    auto one = [&]<class L>(L*) {
      if (key_of<input_t<L>>() != type) return false;
      bytes = wire::encode(*static_cast<input_t<L> const*>(value));
      return true;
    };
    (one(static_cast<Logics*>(nullptr)) || ...);
    if (!bytes) {  // no hosted logic takes this type: not_found or type_mismatch, as locally
      auto i = info(id);
      if (!i) return std::move(i).error();
      return fail(errc::type_mismatch, "flow node " + id.to_string() + " takes " + i->input_type + ", not " +
                                           std::string(type_name));
    }
    auto r = call(id, fm_data{std::string(type_name), std::move(*bytes)});
    if (!r) return std::move(r).error();
    auto ok = to_result(r->value);
    // The host counted the message as received; it is in wait_idle's sum when the node is one of
    // ours (it exists: accepted, or refused for its type).
    if (ok || ok.error().code == errc::type_mismatch) sent_.fetch_add(1, std::memory_order_relaxed);
    return ok;
  }

  result<void> retrieve(node_id const& id, type_key logic, std::string_view name, void* out, void const* key) override {
    std::optional<result<void>> r;
    auto one = [&]<class L>(L*) {
      if (key_of<L>() != logic) return false;
      fm_retrieve q{std::string(L::name), key != nullptr, {}};
      if constexpr (has_keyed_retrieve<L>)
        if (key) q.key = wire::encode(*static_cast<typename L::key const*>(key));
      auto reply = call(id, std::move(q));
      if (!reply) {
        r = std::move(reply).error();
        return true;
      }
      if (auto ok = to_result(reply->value.status); !ok) {
        r = std::move(ok);
        return true;
      }
      if (!key) {
        if constexpr (has_retrieve<L>) r = decode_into<retrieve_t<L>>(reply->value.bytes, out);
      } else {
        if constexpr (has_keyed_retrieve<L>) r = decode_into<keyed_retrieve_t<L>>(reply->value.bytes, out);
      }
      if (!r) r = fail(errc::invalid_argument, "logic has no such retrieve");
      return true;
    };
    (one(static_cast<Logics*>(nullptr)) || ...);
    if (!r)
      return fail(errc::not_found, "logic " + std::string(name) + " is not listed in the schema's mesh::flow::host<...>");
    return std::move(*r);
  }

  result<node_info> info(node_id const& id) override {
    auto r = call(id, fm_info{});
    if (!r) return std::move(r).error();
    if (auto ok = to_result(r->value.status); !ok) return std::move(ok).error();
    return std::move(r->value.info);
  }

  std::vector<node_id> nodes() override {
    std::lock_guard lk(m_);
    return std::vector<node_id>(known_.begin(), known_.end());
  }

  bool wait_idle(std::chrono::milliseconds timeout) override {
    // Idle when every data message sent (by send_data and by the nodes' casts) was received,
    // and that count is the same in two polls in a row.
    auto const until = std::chrono::steady_clock::now() + timeout;
    bool have_previous = false;
    std::uint64_t previous = 0;
    while (true) {
      std::uint64_t received = retired_received_.load(std::memory_order_relaxed);
      std::uint64_t emitted = retired_emitted_.load(std::memory_order_relaxed);
      bool ok = true;
      for (auto const& id : nodes()) {
        auto r = call(id, fm_idle{});
        if (!r) {
          ok = false;
          break;
        }
        received += r->value.received;
        emitted += r->value.emitted;
      }
      std::uint64_t const sent = sent_.load(std::memory_order_relaxed);
      if (ok && received == sent + emitted) {
        if (have_previous && previous == received) return true;
        have_previous = true;
        previous = received;
      } else {
        have_previous = false;
      }
      if (std::chrono::steady_clock::now() >= until) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

 private:
  template <class M>
  auto call(node_id const& id, M msg) {
    return node_.template call<H>(id.to_string(), std::move(msg));
  }
  template <class R>
  static result<void> decode_into(std::string const& bytes, void* out) {
    auto v = wire::decode<R>(bytes);
    if (!v) return std::move(v).error();
    static_cast<std::optional<R>*>(out)->emplace(std::move(*v));
    return {};
  }

  mesh::node<S>& node_;
  network_config cfg_;
  std::mutex m_;
  std::set<node_id> known_;
  std::atomic<std::uint64_t> sent_{0}, retired_received_{0}, retired_emitted_{0};
};

template <class S>
struct attach<mesh::node<S>> {
  static std::unique_ptr<remote_backend> make(mesh::node<S>& n, network_config cfg) {
    using H = typename decltype([]<class... As>(mesh::list<As...>*) {
      return std::type_identity<typename host_in<As...>::type>{};
    }(static_cast<typename S::actors*>(nullptr)))::type;
    if constexpr (std::is_void_v<H>) {
      (void)sizeof(diagnostics::flow_network_needs_a_host_in_the_schema<mesh::node<S>>);
      return nullptr;
    } else {
      return std::make_unique<cluster_backend<S, H>>(n, std::move(cfg));
    }
  }
};

}  // namespace detail
}  // namespace mesh::flow
