#pragma once
/// Forward declarations of mesh's main types.

#include <cstddef>

namespace mesh {
template <std::size_t N> struct fixed_string;
template <class... Ts> struct list;
template <class... Actors> struct schema;
template <class T> class result;
struct error;
class context;
template <class Schema> class node;
struct node_config;
class store;
template <class T> struct reply;
template <class R> class task;
}  // namespace mesh
