#pragma once
/// The messages of the flow host actor (their order in host::messages is the wire order) and
/// the status every control reply carries.

#include <mesh/core/error.hpp>
#include <mesh/flow/node_id_wire.hpp>
#include <mesh/wire/reflect.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mesh::flow::detail {

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
/// Link to `target`, whose input has signature `target_input` (signature_v, named
/// `target_input_name` in messages); `convertible`: a graph edge the compiler checked.
struct fm_link {
  BOOST_HANA_DEFINE_STRUCT(fm_link, (node_id, target), (std::uint64_t, target_input), (std::string, target_input_name),
                           (bool, convertible));
};
struct fm_unlink {
  BOOST_HANA_DEFINE_STRUCT(fm_unlink, (node_id, target));
};
struct fm_linked {
  BOOST_HANA_DEFINE_STRUCT(fm_linked, (node_id, from), (bool, add));
};
/// One item: its type's signature_v and its msgpack bytes.
struct fm_data {
  BOOST_HANA_DEFINE_STRUCT(fm_data, (std::uint64_t, type), (std::string, bytes));
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

}  // namespace mesh::flow::detail
