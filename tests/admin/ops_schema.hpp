#pragma once
// The schema of the admin tests, shared by the test program and mesh_admin_member (the member
// process it starts): "echo" (capability "ops") answers with what its handler saw.
#include <mesh/mesh.hpp>

#include <stdexcept>
#include <string>
#include <string_view>

namespace ops {

struct ops_cap : mesh::capability<"ops"> {};

struct Trace {};  // replies with the traceparent the handler saw (ctx.traceparent())
struct Boom {};   // throws: the call fails with actor_failed
struct Relay {    // calls echo `to` from inside the handler and returns that handler's Trace
  BOOST_HANA_DEFINE_STRUCT(Relay, (std::string, to));
};

struct Echo {
  static constexpr mesh::fixed_string name = "echo";
  using capability = ops_cap;
  using messages = mesh::list<Trace, Boom, Relay>;
  explicit Echo(std::string_view) {}
  std::string handle(Trace const&, mesh::context& ctx) { return std::string(ctx.traceparent()); }
  long handle(Boom const&) { throw std::runtime_error("boom"); }
  std::string handle(Relay const& r, mesh::context& ctx) {
    auto res = ctx.call<Echo>(r.to, Trace{});
    return res ? res->value : "error: " + res.error().message;
  }
};

using schema = mesh::schema<Echo>;

}  // namespace ops
