#pragma once
/// Reflection of message types: which types can travel, their structural signature, and the
/// msgpack-c adaptors generated from Boost.Hana reflection. This is the single reflection point:
/// serialization, the schema fingerprint and diagnostics all read it.

#include <mesh/wire/type_name.hpp>

#include <boost/hana/accessors.hpp>
#include <boost/hana/define_struct.hpp>
#include <boost/hana/adapt_struct.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/length.hpp>
#include <boost/hana/pair.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/string.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/concept/struct.hpp>
// msgpack-c's core and the adaptors of the types mesh serializes (is_serializable below), not
// <msgpack.hpp>: that one also parses the Boost and legacy adaptors, ~half of msgpack-c's cost to
// every translation unit. A program that wants more of msgpack-c includes it itself.
#include <msgpack/object.hpp>
#include <msgpack/zone.hpp>
#include <msgpack/pack.hpp>
#include <msgpack/unpack.hpp>
#include <msgpack/sbuffer.hpp>
#include <msgpack/cpp_config.hpp>
#include <msgpack/adaptor/bool.hpp>
#include <msgpack/adaptor/float.hpp>
#include <msgpack/adaptor/int.hpp>
#include <msgpack/adaptor/map.hpp>
#include <msgpack/adaptor/nil.hpp>
#include <msgpack/adaptor/pair.hpp>
#include <msgpack/adaptor/string.hpp>
#include <msgpack/adaptor/vector.hpp>
#include <msgpack/adaptor/vector_bool.hpp>
#include <msgpack/adaptor/vector_char.hpp>
#include <msgpack/adaptor/vector_unsigned_char.hpp>
#include <msgpack/adaptor/cpp11/array.hpp>
#include <msgpack/adaptor/cpp11/array_char.hpp>
#include <msgpack/adaptor/cpp11/array_unsigned_char.hpp>
#include <msgpack/adaptor/cpp11/tuple.hpp>
#include <msgpack/adaptor/cpp11/unordered_map.hpp>
#include <msgpack/adaptor/cpp17/optional.hpp>
#include <msgpack/adaptor/cpp17/string_view.hpp>
#include <msgpack/adaptor/char_ptr.hpp>
#include <msgpack/adaptor/carray.hpp>
#include <msgpack/adaptor/cpp17/array_byte.hpp>
#include <msgpack/adaptor/cpp17/byte.hpp>
#include <msgpack/adaptor/cpp17/vector_byte.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mesh::wire {

/// True for structs reflected with BOOST_HANA_DEFINE_STRUCT / BOOST_HANA_ADAPT_STRUCT.
template <class T>
inline constexpr bool is_reflected_v = std::is_class_v<T> && boost::hana::Struct<T>::value;

/// True for field-less structs (tag messages such as `struct Get {};`); they travel as [].
template <class T>
inline constexpr bool is_tag_v = std::is_class_v<T> && std::is_empty_v<T> && !is_reflected_v<T> &&
                                 std::is_default_constructible_v<T>;

namespace detail {

/// The fields of a reflected struct as member pointers, when its accessors are Hana's plain
/// member pointers (BOOST_HANA_DEFINE_STRUCT and BOOST_HANA_ADAPT_STRUCT both produce them).
/// Serializers then expand a fold over the pointers: one small function per message type,
/// instead of hana::for_each's closure instantiations (which dominated compile time).
template <class Names, auto... Ptrs>
struct member_fields {
  static constexpr bool known = true;
  static constexpr std::size_t size = sizeof...(Ptrs);
};
template <class Accessors>
struct fields_of {
  static constexpr bool known = false;  // custom accessors (e.g. BOOST_HANA_ADAPT_ADT): hana::for_each
};
template <class... Names, auto... Ptrs>
struct fields_of<boost::hana::tuple<boost::hana::pair<Names, boost::hana::struct_detail::member_ptr<decltype(Ptrs), Ptrs>>...>>
    : member_fields<boost::hana::tuple<Names...>, Ptrs...> {};

template <class T>
using fields_t = fields_of<std::remove_cvref_t<decltype(boost::hana::accessors<T>())>>;

/// True for reflected structs whose fields are plain member pointers.
template <class T>
constexpr bool has_member_fields() {
  if constexpr (std::is_class_v<T> && boost::hana::Struct<T>::value) return fields_t<T>::known;
  else return false;
}

template <class T> struct is_vector : std::false_type {};
template <class T, class A> struct is_vector<std::vector<T, A>> : std::true_type {};
template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};
template <class T> struct is_map : std::false_type {};
template <class K, class V, class C, class A> struct is_map<std::map<K, V, C, A>> : std::true_type {};
template <class K, class V, class H, class E, class A> struct is_map<std::unordered_map<K, V, H, E, A>> : std::true_type {};
template <class T> struct is_array : std::false_type {};
template <class T, std::size_t N> struct is_array<std::array<T, N>> : std::true_type {};
template <class T> struct is_tuple : std::false_type {};
template <class... Ts> struct is_tuple<std::tuple<Ts...>> : std::true_type {};
template <class A, class B> struct is_tuple<std::pair<A, B>> : std::true_type {};

template <class T>
struct member_types;

template <class E>
concept has_fixed_underlying_type = std::is_enum_v<E> && requires { E{std::underlying_type_t<E>{}}; };

}  // namespace detail

/// True when mesh knows how to put T on the wire.
template <class T>
struct is_serializable;

template <class T>
inline constexpr bool is_serializable_v = is_serializable<std::remove_cv_t<T>>::value;

namespace detail {
template <class T, class Names, auto... Ptrs>
constexpr bool fields_serializable(member_fields<Names, Ptrs...>) {
  return (is_serializable_v<std::remove_cvref_t<decltype(std::declval<T&>().*Ptrs)>> && ...);
}
template <class T>
constexpr bool reflected_members_serializable() {
  if constexpr (fields_t<T>::known) {
    return fields_serializable<T>(fields_t<T>{});
  } else {  // the else matters: without it the hana::for_each below is instantiated for every type
    bool ok = true;
    boost::hana::for_each(boost::hana::accessors<T>(), [&](auto p) {
      using M = std::remove_cvref_t<decltype(boost::hana::second(p)(std::declval<T&>()))>;
      ok = ok && is_serializable_v<M>;
    });
    return ok;
  }
}
template <class Tuple>
struct tuple_serializable;
template <template <class...> class Tp, class... Ts>
struct tuple_serializable<Tp<Ts...>> : std::bool_constant<(is_serializable_v<Ts> && ...)> {};
}  // namespace detail

template <class T>
struct is_serializable
    : std::bool_constant<[] {
        if constexpr (std::is_same_v<T, bool> || std::is_arithmetic_v<T>) return true;
        // Only enums with a fixed underlying type (enum class, or `enum E : int`): any received
        // integer is then a valid value; for other enums an out-of-range value would be UB.
        else if constexpr (std::is_enum_v<T>) return detail::has_fixed_underlying_type<T>;
        else if constexpr (std::is_same_v<T, std::string>) return true;
        else if constexpr (detail::is_vector<T>::value || detail::is_optional<T>::value || detail::is_array<T>::value)
          return is_serializable_v<typename T::value_type>;
        else if constexpr (detail::is_map<T>::value)
          return is_serializable_v<typename T::key_type> && is_serializable_v<typename T::mapped_type>;
        else if constexpr (detail::is_tuple<T>::value) return detail::tuple_serializable<T>::value;
        else if constexpr (is_reflected_v<T>) return detail::reflected_members_serializable<T>();
        else if constexpr (is_tag_v<T>) return true;
        else return false;
      }()> {};

/// FNV-1a over a token stream; constexpr so the schema fingerprint is a compile-time constant.
struct hasher {
  std::uint64_t h = 0xcbf29ce484222325ull;
  constexpr void bytes(std::string_view s) {
    for (char c : s) {
      h ^= static_cast<unsigned char>(c);
      h *= 0x100000001b3ull;
    }
  }
  constexpr void number(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xff;
      h *= 0x100000001b3ull;
    }
  }
  constexpr hasher& operator()(std::string_view s) {
    bytes(s);
    bytes(std::string_view("\0", 1));  // separator: "ab","c" differs from "a","bc"
    return *this;
  }
};

template <class T>
constexpr void signature(hasher& h);

namespace detail {
template <class T, class... Names, auto... Ptrs>
constexpr void field_signatures(hasher& h, member_fields<boost::hana::tuple<Names...>, Ptrs...>) {
  ((h(Names::c_str()), signature<std::remove_cvref_t<decltype(std::declval<T&>().*Ptrs)>>(h)), ...);
}
// One out-of-line packer/converter per field *type*, shared by every message with such a field:
// the optimizer then compiles each message's (de)serializer as a few calls instead of re-inlining
// msgpack-c's container code into every message type. A call per field costs nothing next to parsing.
template <class Packer, class F>
[[gnu::noinline]] void pack_one(Packer& o, F const& f) {
  o.pack(f);
}
template <class F>
[[gnu::noinline]] void convert_one(msgpack::object const& o, F& f) {
  o.convert(f);
}
template <class Packer>
[[gnu::noinline]] void pack_array_header(Packer& o, std::uint32_t n) {
  o.pack_array(n);
}
/// Checks that `o` is an array of n elements (else msgpack::type_error) and returns them.
[[gnu::noinline]] inline msgpack::object const* array_of(msgpack::object const& o, std::uint32_t n) {
  if (o.type != msgpack::type::ARRAY || o.via.array.size != n) throw msgpack::type_error();
  return o.via.array.ptr;
}
template <class Packer, class T, class Names, auto... Ptrs>
void pack_fields(Packer& o, T const& v, member_fields<Names, Ptrs...>) {
  pack_array_header(o, static_cast<std::uint32_t>(sizeof...(Ptrs)));
  (pack_one(o, v.*Ptrs), ...);
}
template <class T, class Names, auto... Ptrs>
void convert_fields(msgpack::object const& o, T& v, member_fields<Names, Ptrs...>) {
  auto const* a = array_of(o, static_cast<std::uint32_t>(sizeof...(Ptrs)));
  std::size_t i = 0;
  (convert_one(a[i++], v.*Ptrs), ...);
}
template <class T, class Names, auto... Ptrs>
void zone_fields(msgpack::object* a, msgpack::zone& z, T const& v, member_fields<Names, Ptrs...>) {
  std::size_t i = 0;
  ((a[i++] = msgpack::object(v.*Ptrs, z)), ...);
}
}  // namespace detail

/// Feeds T's structural signature (names of reflected types and fields, kinds and widths of
/// primitives, element types of containers) into h. Any change of a field's name or type changes it.
template <class T>
constexpr void signature(hasher& h) {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_same_v<U, bool>) h("bool");
  else if constexpr (std::is_enum_v<U>) {
    h("enum")(type_name<U>());
    signature<std::underlying_type_t<U>>(h);
  } else if constexpr (std::is_floating_point_v<U>) {
    h("float").number(sizeof(U));
  } else if constexpr (std::is_integral_v<U>) {
    h(std::is_signed_v<U> ? "int" : "uint").number(sizeof(U));
  } else if constexpr (std::is_same_v<U, std::string>) h("str");
  else if constexpr (detail::is_vector<U>::value) {
    h("vec");
    signature<typename U::value_type>(h);
  } else if constexpr (detail::is_array<U>::value) {
    h("arr").number(std::tuple_size_v<U>);
    signature<typename U::value_type>(h);
  } else if constexpr (detail::is_optional<U>::value) {
    h("opt");
    signature<typename U::value_type>(h);
  } else if constexpr (detail::is_map<U>::value) {
    h("map");
    signature<typename U::key_type>(h);
    signature<typename U::mapped_type>(h);
  } else if constexpr (detail::is_tuple<U>::value) {
    h("tuple").number(std::tuple_size_v<U>);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (signature<std::tuple_element_t<I, U>>(h), ...);
    }(std::make_index_sequence<std::tuple_size_v<U>>{});
  } else if constexpr (is_reflected_v<U>) {
    h("struct")(type_name<U>());
    if constexpr (detail::fields_t<U>::known) {
      detail::field_signatures<U>(h, detail::fields_t<U>{});
    } else {
      boost::hana::for_each(boost::hana::accessors<U>(), [&](auto p) {
        using M = std::remove_cvref_t<decltype(boost::hana::second(p)(std::declval<U&>()))>;
        h(boost::hana::to<char const*>(boost::hana::first(p)));
        signature<M>(h);
      });
    }
    h("end");
  } else if constexpr (is_tag_v<U>) {
    h("tag")(type_name<U>());
  } else if constexpr (std::is_void_v<U>) {
    h("void");
  } else {
    h("?")(type_name<U>());
  }
}

/// Number of fields a reflected struct has.
template <class T>
inline constexpr std::size_t field_count_v = decltype(boost::hana::length(boost::hana::accessors<T>()))::value;

}  // namespace mesh::wire

// msgpack-c adaptors generated from the reflection: structs travel as arrays of their fields in
// declaration order (compact; the names are covered by the schema fingerprint), tags as [],
// enums as their underlying integer.
namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
namespace adaptor {

template <class T>
struct convert<T, std::enable_if_t<mesh::wire::is_reflected_v<T>>> {
  msgpack::object const& operator()(msgpack::object const& o, T& v) const {
    if constexpr (mesh::wire::detail::fields_t<T>::known) {
      mesh::wire::detail::convert_fields(o, v, mesh::wire::detail::fields_t<T>{});
    } else {
      if (o.type != msgpack::type::ARRAY || o.via.array.size != mesh::wire::field_count_v<T>) throw msgpack::type_error();
      std::size_t i = 0;
      boost::hana::for_each(boost::hana::accessors<T>(), [&](auto p) { o.via.array.ptr[i++].convert(boost::hana::second(p)(v)); });
    }
    return o;
  }
};
template <class T>
struct pack<T, std::enable_if_t<mesh::wire::is_reflected_v<T>>> {
  template <class Stream>
  msgpack::packer<Stream>& operator()(msgpack::packer<Stream>& o, T const& v) const {
    if constexpr (mesh::wire::detail::fields_t<T>::known) {
      mesh::wire::detail::pack_fields(o, v, mesh::wire::detail::fields_t<T>{});
    } else {
      o.pack_array(static_cast<std::uint32_t>(mesh::wire::field_count_v<T>));
      boost::hana::for_each(boost::hana::accessors<T>(), [&](auto p) { o.pack(boost::hana::second(p)(v)); });
    }
    return o;
  }
};
template <class T>
struct object_with_zone<T, std::enable_if_t<mesh::wire::is_reflected_v<T>>> {
  void operator()(msgpack::object::with_zone& o, T const& v) const {
    constexpr auto n = static_cast<std::uint32_t>(mesh::wire::field_count_v<T>);
    o.type = msgpack::type::ARRAY;
    o.via.array.size = n;
    o.via.array.ptr = n ? static_cast<msgpack::object*>(o.zone.allocate_align(sizeof(msgpack::object) * n, MSGPACK_ZONE_ALIGNOF(msgpack::object))) : nullptr;
    if constexpr (mesh::wire::detail::fields_t<T>::known) {
      mesh::wire::detail::zone_fields(o.via.array.ptr, o.zone, v, mesh::wire::detail::fields_t<T>{});
    } else {
      std::size_t i = 0;
      boost::hana::for_each(boost::hana::accessors<T>(), [&](auto p) {
        o.via.array.ptr[i++] = msgpack::object(boost::hana::second(p)(v), o.zone);
      });
    }
  }
};

template <class T>
struct convert<T, std::enable_if_t<mesh::wire::is_tag_v<T>>> {
  msgpack::object const& operator()(msgpack::object const& o, T&) const {
    if (o.type != msgpack::type::ARRAY || o.via.array.size != 0) throw msgpack::type_error();
    return o;
  }
};
template <class T>
struct pack<T, std::enable_if_t<mesh::wire::is_tag_v<T>>> {
  template <class Stream>
  msgpack::packer<Stream>& operator()(msgpack::packer<Stream>& o, T const&) const {
    return o.pack_array(0);
  }
};

template <class T>
struct convert<T, std::enable_if_t<std::is_enum_v<T>>> {
  msgpack::object const& operator()(msgpack::object const& o, T& v) const {
    v = static_cast<T>(o.as<std::underlying_type_t<T>>());
    return o;
  }
};
template <class T>
struct pack<T, std::enable_if_t<std::is_enum_v<T>>> {
  template <class Stream>
  msgpack::packer<Stream>& operator()(msgpack::packer<Stream>& o, T const& v) const {
    return o.pack(static_cast<std::underlying_type_t<T>>(v));
  }
};
template <class T>
struct object<T, std::enable_if_t<std::is_enum_v<T>>> {
  void operator()(msgpack::object& o, T const& v) const {
    o = msgpack::object(static_cast<std::underlying_type_t<T>>(v));
  }
};

}  // namespace adaptor
}
}  // namespace msgpack
