#pragma once
/// detail::logic_instance<L>: the logic object of a started node and the one way both runtimes
/// call it: one item at a time, an exception counted and logged in the node's node_state, and
/// the state restored first when the logic asks for rollback_on_error.

#include <mesh/flow/emitter.hpp>
#include <mesh/flow/logic.hpp>
#include <mesh/flow/node_state.hpp>
#include <mesh/flow/summary.hpp>
#include <mesh/flow/type_key.hpp>

#include <exception>
#include <string>
#include <type_traits>
#include <utility>

namespace mesh::flow::detail {

/// The names node_info shows for a node running L started with `o`.
template <class L>
node_state::names names_of(options_t<L> const& o) {
  node_state::names n;
  n.logic = std::string(flow::logic_name<L>());
  if constexpr (has_options<L>) n.options = summary_of(o);
  else (void)o;
  n.input = type_name_of<input_t<L>>();
  n.output = type_name_of<output_t<L>>();
  return n;
}

template <class L>
class logic_instance {
  using In = input_t<L>;

 public:
  /// Constructs the logic from its options (by default when it declares none); a constructor
  /// that throws throws from here.
  explicit logic_instance(options_t<L> const& o) : logic_(make(o)) {}

  /// Runs process(item) with `em` (an emitter<output>). False when it threw: the exception is
  /// recorded in `st` and, with rollback_on_error, the logic is back in its state before item.
  template <class E>
  bool process(In const& item, E& em, node_state& st) {
    try {
      if constexpr (rolls_back_on_error<L>) {
        L saved(logic_);
        try {
          call(item, em);
        } catch (...) {
          logic_ = std::move(saved);
          throw;
        }
      } else {
        call(item, em);
      }
      return true;
    } catch (std::exception const& e) {
      st.on_error(e.what());
    } catch (...) {
      st.on_error("unknown exception");
    }
    return false;
  }

  /// The logic, for retrieve() (the caller keeps process() from running meanwhile).
  L const& get() const noexcept { return logic_; }

 private:
  static L make(options_t<L> const& o) {
    if constexpr (has_options<L>) return L(o);
    else return (void)o, L();
  }
  template <class E>
  void call(In const& item, E& em) {
    if constexpr (processes_with_emitter<L>) logic_.process(item, em);
    else logic_.process(item);
  }

  L logic_;
};

}  // namespace mesh::flow::detail
