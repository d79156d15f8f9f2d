#pragma once
/// detail::ref<T>: an intrusive reference to a flow node. The scheduler holds the same count
/// (one per queued turn), so a node lives while it is registered, linked to, or scheduled.

#include <type_traits>
#include <utility>

namespace mesh::flow::detail {

template <class T>
class ref {
 public:
  ref() = default;
  explicit ref(T* p) noexcept : p_(p) {
    if (p_) p_->retain();
  }
  /// A reference to an object known to exist.
  static ref from(T& obj) noexcept {
    obj.retain();
    ref r;
    r.p_ = &obj;
    return r;
  }
  ref(ref const& o) noexcept : ref(o.p_) {}
  ref(ref&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  template <class U>
    requires std::is_convertible_v<U*, T*>
  ref(ref<U> const& o) noexcept : ref(o.get()) {}
  ref& operator=(ref o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~ref() {
    if (p_) p_->release();
  }
  T* get() const noexcept { return p_; }
  T* operator->() const noexcept { return p_; }
  T& operator*() const noexcept { return *p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  /// Gives up ownership without releasing (the count moves to whoever takes the pointer).
  T* detach() noexcept { return std::exchange(p_, nullptr); }

 private:
  T* p_ = nullptr;
};

}  // namespace mesh::flow::detail
