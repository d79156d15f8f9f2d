#pragma once
/// mesh::flow::node_id: the identity of a processing node. A string (`const char*`,
/// `std::string_view` and `std::string` make the same id), an integer (compared by value,
/// whatever its integer type) or a tuple of ids (compared element-wise). "42" and 42 differ.

#include <compare>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace mesh::flow {

class node_id;

namespace detail {
template <class T>
concept id_integer = std::integral<T> && !std::same_as<T, bool> && !std::same_as<T, char> &&
                     !std::same_as<T, wchar_t> && !std::same_as<T, char8_t> && !std::same_as<T, char16_t> &&
                     !std::same_as<T, char32_t>;
}  // namespace detail

/// A node id value: string, integer or tuple of ids. Regular (copyable, totally ordered,
/// hashable); thread-safe as any value type.
class node_id {
 public:
  enum class kind : std::uint8_t { string = 0, integer = 1, tuple = 2 };

  /// The empty string id.
  node_id() = default;
  node_id(char const* s) : str_(s) {}
  node_id(std::string_view s) : str_(s) {}
  node_id(std::string s) : str_(std::move(s)) {}
  /// Any integer type; the value decides equality (`42u == 42L`).
  template <detail::id_integer I>
  node_id(I v) : kind_(kind::integer) {
    if constexpr (std::is_signed_v<I>) {
      neg_ = v < 0;
      mag_ = neg_ ? std::uint64_t(0) - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
    } else {
      mag_ = static_cast<std::uint64_t>(v);
    }
  }
  /// A tuple (or pair) of ids, e.g. `std::tuple{"sensor", 3}`.
  template <class... Ts>
    requires(sizeof...(Ts) > 0 && (std::is_constructible_v<node_id, Ts const&> && ...))
  node_id(std::tuple<Ts...> const& t) : kind_(kind::tuple) {
    elems_.reserve(sizeof...(Ts));
    std::apply([&](auto const&... e) { (elems_.emplace_back(e), ...); }, t);
  }
  template <class A, class B>
    requires(std::is_constructible_v<node_id, A const&> && std::is_constructible_v<node_id, B const&>)
  node_id(std::pair<A, B> const& p) : kind_(kind::tuple) {
    elems_.reserve(2);
    elems_.emplace_back(p.first);
    elems_.emplace_back(p.second);
  }
  /// A tuple id from a run-time list of elements.
  static node_id tuple(std::vector<node_id> elems) {
    node_id r;
    r.kind_ = kind::tuple;
    r.elems_ = std::move(elems);
    return r;
  }
  /// An integer id from its sign and magnitude (used by decoders).
  static node_id integer(bool negative, std::uint64_t magnitude) {
    node_id r;
    r.kind_ = kind::integer;
    r.neg_ = negative && magnitude != 0;
    r.mag_ = magnitude;
    return r;
  }

  kind type() const noexcept { return kind_; }
  bool is_string() const noexcept { return kind_ == kind::string; }
  bool is_integer() const noexcept { return kind_ == kind::integer; }
  bool is_tuple() const noexcept { return kind_ == kind::tuple; }

  /// The string of a string id (empty otherwise).
  std::string_view str() const noexcept { return str_; }
  /// Sign and magnitude of an integer id.
  bool negative() const noexcept { return neg_; }
  std::uint64_t magnitude() const noexcept { return mag_; }
  /// Elements of a tuple id.
  std::vector<node_id> const& elements() const noexcept { return elems_; }

  friend bool operator==(node_id const& a, node_id const& b) noexcept {
    if (a.kind_ != b.kind_) return false;
    switch (a.kind_) {
      case kind::string: return a.str_ == b.str_;
      case kind::integer: return a.neg_ == b.neg_ && a.mag_ == b.mag_;
      case kind::tuple: return a.elems_ == b.elems_;
    }
    return false;
  }
  /// Total order: strings < integers < tuples; integers by value; tuples lexicographically.
  friend std::strong_ordering operator<=>(node_id const& a, node_id const& b) noexcept {
    if (a.kind_ != b.kind_) return a.kind_ <=> b.kind_;
    switch (a.kind_) {
      case kind::string: return a.str_.compare(b.str_) <=> 0;
      case kind::integer:
        if (a.neg_ != b.neg_) return a.neg_ ? std::strong_ordering::less : std::strong_ordering::greater;
        return a.neg_ ? b.mag_ <=> a.mag_ : a.mag_ <=> b.mag_;
      case kind::tuple: {
        for (std::size_t i = 0; i < a.elems_.size() && i < b.elems_.size(); ++i)
          if (auto c = a.elems_[i] <=> b.elems_[i]; c != 0) return c;
        return a.elems_.size() <=> b.elems_.size();
      }
    }
    return std::strong_ordering::equal;
  }

  /// Hash consistent with ==.
  std::size_t hash() const noexcept {
    switch (kind_) {
      case kind::string: return std::hash<std::string_view>{}(str_);
      case kind::integer: return std::hash<std::uint64_t>{}(mag_) ^ (neg_ ? 0x9e3779b97f4a7c15ull : 0x51ull);
      case kind::tuple: {
        std::size_t h = 0x7f4a7c159e3779b9ull;
        for (auto const& e : elems_) h = (h ^ e.hash()) * 0x100000001b3ull;
        return h;
      }
    }
    return 0;
  }

  /// Canonical text: strings quoted with `"` and `\` escaped, integers in decimal, tuples as
  /// `("a", 1)`. Distinct ids have distinct texts (it is the actor id in a clustered network).
  std::string to_string() const {
    std::string out;
    append_to(out);
    return out;
  }
  void append_to(std::string& out) const {
    switch (kind_) {
      case kind::string:
        out += '"';
        for (char c : str_) {
          if (c == '"' || c == '\\') out += '\\';
          out += c;
        }
        out += '"';
        break;
      case kind::integer:
        if (neg_) out += '-';
        out += std::to_string(mag_);
        break;
      case kind::tuple:
        out += '(';
        for (std::size_t i = 0; i < elems_.size(); ++i) {
          if (i) out += ", ";
          elems_[i].append_to(out);
        }
        out += ')';
        break;
    }
  }

 private:
  kind kind_ = kind::string;
  bool neg_ = false;
  std::uint64_t mag_ = 0;
  std::string str_;
  std::vector<node_id> elems_;
};

/// Canonical text of an id (see node_id::to_string).
inline std::string to_string(node_id const& id) { return id.to_string(); }

}  // namespace mesh::flow

template <>
struct std::hash<mesh::flow::node_id> {
  std::size_t operator()(mesh::flow::node_id const& id) const noexcept { return id.hash(); }
};
