#pragma once
/// node_id and node_info on the wire: a node_id travels as what it is (a msgpack string,
/// integer, or array of ids); node_info is reflected field by field.

#include <mesh/flow/node_id.hpp>
#include <mesh/flow/node_info.hpp>
#include <mesh/wire/codec.hpp>
#include <mesh/wire/reflect.hpp>

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

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
