#pragma once
/// mesh::detail::inplace_function: a move-only std::function with room for Capacity bytes of
/// captures inside the object. Every remote call carries one reply callback from the caller to
/// the transport and back; std::function keeps only 16 bytes of trivially copyable captures
/// inline and allocates for anything else (a shared_ptr to the call state already does not
/// fit), which costs an allocation per call and a free on another thread. Larger callables
/// still work: they go to the heap.

#include <cstddef>
#include <functional>  // std::bad_function_call
#include <new>
#include <type_traits>
#include <utility>

namespace mesh::detail {

template <class Signature, std::size_t Capacity = 80>
class inplace_function;

template <class R, class... Args, std::size_t Capacity>
class inplace_function<R(Args...), Capacity> {
  struct ops {
    R (*call)(void* self, Args&&... args);
    void (*move)(void* dst, void* src) noexcept;  // move-constructs at dst, destroys src
    void (*destroy)(void* self) noexcept;
  };

  template <class F>
  static constexpr bool stored_inline = sizeof(F) <= Capacity && alignof(F) <= alignof(std::max_align_t) &&
                                        std::is_nothrow_move_constructible_v<F>;

  template <class F>
  static constexpr ops inline_ops{
      [](void* s, Args&&... a) -> R { return (*static_cast<F*>(s))(std::forward<Args>(a)...); },
      [](void* d, void* s) noexcept {
        ::new (d) F(std::move(*static_cast<F*>(s)));
        static_cast<F*>(s)->~F();
      },
      [](void* s) noexcept { static_cast<F*>(s)->~F(); }};

  template <class F>
  static constexpr ops heap_ops{
      [](void* s, Args&&... a) -> R { return (**static_cast<F**>(s))(std::forward<Args>(a)...); },
      [](void* d, void* s) noexcept { *static_cast<F**>(d) = *static_cast<F**>(s); },
      [](void* s) noexcept { delete *static_cast<F**>(s); }};

 public:
  inplace_function() noexcept = default;
  inplace_function(std::nullptr_t) noexcept {}

  template <class F, class D = std::decay_t<F>,
            class = std::enable_if_t<!std::is_same_v<D, inplace_function> && std::is_invocable_r_v<R, D&, Args...>>>
  inplace_function(F&& f) {  // NOLINT: implicit, as std::function's
    if constexpr (stored_inline<D>) {
      ::new (static_cast<void*>(buf_)) D(std::forward<F>(f));
      ops_ = &inline_ops<D>;
    } else {
      *reinterpret_cast<D**>(buf_) = new D(std::forward<F>(f));
      ops_ = &heap_ops<D>;
    }
  }

  inplace_function(inplace_function&& o) noexcept : ops_(o.ops_) {
    if (ops_) {
      ops_->move(buf_, o.buf_);
      o.ops_ = nullptr;
    }
  }
  inplace_function& operator=(inplace_function&& o) noexcept {
    if (this != &o) {
      reset();
      if (o.ops_) {
        o.ops_->move(buf_, o.buf_);
        ops_ = o.ops_;
        o.ops_ = nullptr;
      }
    }
    return *this;
  }
  inplace_function& operator=(std::nullptr_t) noexcept {
    reset();
    return *this;
  }
  inplace_function(inplace_function const&) = delete;
  inplace_function& operator=(inplace_function const&) = delete;
  ~inplace_function() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }

  /// Calls the target; std::bad_function_call when empty, as std::function.
  R operator()(Args... args) const {
    if (!ops_) throw std::bad_function_call();
    return ops_->call(buf_, std::forward<Args>(args)...);
  }

 private:
  void reset() noexcept {
    if (ops_) {
      ops_->destroy(buf_);
      ops_ = nullptr;
    }
  }

  alignas(std::max_align_t) mutable unsigned char buf_[Capacity < sizeof(void*) ? sizeof(void*) : Capacity];
  ops const* ops_ = nullptr;
};

}  // namespace mesh::detail
