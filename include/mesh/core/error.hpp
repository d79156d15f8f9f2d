#pragma once
/// mesh::errc, mesh::error and mesh::result<T>: run-time failures are values.

#include <cstdint>
#include <exception>
#include <new>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace mesh {

/// Error codes. The numbers travel in error frames: never renumber or reuse one.
enum class errc : std::uint16_t {
  ok = 0,                 ///< no error (never carried by a mesh::error)
  no_nodes = 1,           ///< no cluster member registered the capability the actor needs
  timeout = 2,            ///< the call's deadline passed before a reply arrived
  node_unreachable = 3,   ///< the owner node is dead, left, or could not be sent to
  actor_failed = 4,       ///< the handler (or the actor's constructor) threw; message holds what()
  rebalancing = 5,        ///< the shard changed owner while the call was in flight; retry
  schema_mismatch = 6,    ///< the peer was built from a different schema (fingerprint differs)
  bad_message = 7,        ///< a frame or payload could not be decoded, or broke a limit
  unauthorized = 8,       ///< the peer is not allowed to do this (reserved for authentication)
  shutting_down = 9,      ///< the node is stopping and takes no more work
  overloaded = 10,        ///< a bounded queue (mailbox, socket) is full; back off and retry
  not_found = 11,         ///< no such actor type, flow node or member
  already_exists = 12,    ///< the id or name is taken
  type_mismatch = 13,     ///< a value or link does not have the type the receiver expects
  invalid_argument = 14,  ///< an argument is out of its documented range
  too_large = 15,         ///< a payload (or reply) is over node_config::max_payload_bytes; the caller gets it at once
  rejected = 16,          ///< the handler refused the request (throw mesh::rejected{"why"}); the activation stays
  no_quorum = 17,         ///< this node is cut off from a majority of the cluster (partition_mode::keep_majority)
  call_cycle = 18,        ///< the call would wait on an activation already in its own call chain (A -> B -> A)
  store_failed = 19,      ///< the state store (node_config::store) could not be reached or failed; nothing was saved
};

/// Stable lower-case name of an error code ("no_nodes", ...).
constexpr std::string_view to_string(errc c) noexcept {
  switch (c) {
    case errc::ok: return "ok";
    case errc::no_nodes: return "no_nodes";
    case errc::timeout: return "timeout";
    case errc::node_unreachable: return "node_unreachable";
    case errc::actor_failed: return "actor_failed";
    case errc::rebalancing: return "rebalancing";
    case errc::schema_mismatch: return "schema_mismatch";
    case errc::bad_message: return "bad_message";
    case errc::unauthorized: return "unauthorized";
    case errc::shutting_down: return "shutting_down";
    case errc::overloaded: return "overloaded";
    case errc::not_found: return "not_found";
    case errc::already_exists: return "already_exists";
    case errc::type_mismatch: return "type_mismatch";
    case errc::invalid_argument: return "invalid_argument";
    case errc::too_large: return "too_large";
    case errc::rejected: return "rejected";
    case errc::no_quorum: return "no_quorum";
    case errc::call_cycle: return "call_cycle";
    case errc::store_failed: return "store_failed";
  }
  return "unknown";
}

/// True for codes this build knows; an unknown number from a newer peer maps to bad_message.
constexpr bool is_known(errc c) noexcept { return to_string(c) != "unknown"; }

/// A failure: a code for programs and a message for people.
struct error {
  errc code = errc::ok;
  std::string message;

  friend bool operator==(error const& a, error const& b) = default;
  friend std::ostream& operator<<(std::ostream& os, error const& e) {
    return os << to_string(e.code) << ": " << e.message;
  }
};

/// What a handler throws to refuse a request for a domain reason ("insufficient funds"): the
/// caller gets errc::rejected with the text, and the activation stays as the handler left it
/// (throw before changing anything). Any other exception fails the call with actor_failed and
/// discards the activation.
class rejected : public std::exception {
 public:
  explicit rejected(std::string why) : why_(std::move(why)) {}
  char const* what() const noexcept override { return why_.c_str(); }

 private:
  std::string why_;
};

/// Thrown only where no value can be returned (a constructor, or result::value() on an error).
class exception : public std::exception {
 public:
  explicit exception(mesh::error e) : err_(std::move(e)), what_(std::string(to_string(err_.code)) + ": " + err_.message) {}
  mesh::error const& error() const noexcept { return err_; }
  char const* what() const noexcept override { return what_.c_str(); }

 private:
  mesh::error err_;
  std::string what_;
};

/// Throws mesh::exception; out of line so result<T>::value() stays a compare and a branch.
[[noreturn, gnu::cold, gnu::noinline]] inline void throw_error(error const& e) { throw exception(e); }

/// Shorthand to build an error value: `return mesh::fail(errc::not_found, "...")`.
inline error fail(errc c, std::string msg) { return error{c, std::move(msg)}; }

/// Like std::expected<T, mesh::error>: either a value or an error.
template <class T>
class [[nodiscard]] result {
 public:
  using value_type = T;

  result() requires std::is_default_constructible_v<T> : ok_(true) { new (&val_) T(); }
  result(T v) : ok_(true) { new (&val_) T(std::move(v)); }
  template <class U>
    requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::remove_cvref_t<U>, T> &&
             !std::is_same_v<std::remove_cvref_t<U>, mesh::error> && !std::is_same_v<std::remove_cvref_t<U>, result>)
  result(U&& v) : ok_(true) {
    new (&val_) T(std::forward<U>(v));
  }
  result(mesh::error e) : ok_(false) { new (&err_) mesh::error(std::move(e)); }
  result(result const& o) : ok_(o.ok_) {
    if (ok_) new (&val_) T(o.val_);
    else new (&err_) mesh::error(o.err_);
  }
  result(result&& o) noexcept(std::is_nothrow_move_constructible_v<T>) : ok_(o.ok_) {
    if (ok_) new (&val_) T(std::move(o.val_));
    else new (&err_) mesh::error(std::move(o.err_));
  }
  result& operator=(result o) {
    destroy();
    ok_ = o.ok_;
    if (ok_) new (&val_) T(std::move(o.val_));
    else new (&err_) mesh::error(std::move(o.err_));
    return *this;
  }
  ~result() { destroy(); }

  bool has_value() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }

  /// The value; throws mesh::exception when this holds an error.
  T& value() & { check(); return val_; }
  T const& value() const& { check(); return val_; }
  T&& value() && { check(); return std::move(val_); }
  template <class U>
  T value_or(U&& d) const& { return ok_ ? val_ : static_cast<T>(std::forward<U>(d)); }

  T* operator->() { return &value(); }
  T const* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  T const& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

  /// The error; only meaningful when !has_value().
  mesh::error const& error() const& noexcept { return err_; }
  mesh::error&& error() && noexcept { return std::move(err_); }

 private:
  void check() const {
    if (!ok_) [[unlikely]] throw_error(err_);
  }
  // Out of line: a result is destroyed at every call site, and inlining T's and the error's
  // destructors there multiplied the code of programs with many message types.
  [[gnu::noinline]] void destroy() noexcept {
    if (ok_) val_.~T();
    else err_.mesh::error::~error();
  }
  union {
    T val_;
    mesh::error err_;
  };
  bool ok_;
};

/// result<void>: success, or an error.
template <>
class [[nodiscard]] result<void> {
 public:
  using value_type = void;
  result() = default;
  result(mesh::error e) : err_(std::move(e)), ok_(false) {}

  bool has_value() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  void value() const {
    if (!ok_) [[unlikely]] throw_error(err_);
  }
  mesh::error const& error() const& noexcept { return err_; }
  mesh::error&& error() && noexcept { return std::move(err_); }

 private:
  mesh::error err_;
  bool ok_ = true;
};

}  // namespace mesh
