#pragma once
/// What mesh::admin_server serves, as text: node_metrics in the Prometheus text exposition format
/// 0.0.4 (admin::prometheus_text) and the cluster view as JSON (admin::cluster_json). No HTTP here:
/// usable without cpp-httplib (e.g. to push the figures elsewhere).

#include <mesh/core/error.hpp>
#include <mesh/core/metrics.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace mesh::admin {

/// The cluster as one node sees it (cluster.json).
struct cluster_view {
  struct member {
    std::string name;
    std::vector<std::string> capabilities;  ///< sorted
  };
  struct capability {
    std::string name;
    std::vector<std::string> nodes;  ///< sorted: the candidates of the placement
    std::uint64_t shard_count = 0;
    std::uint64_t owned_here = 0;    ///< shards of it this node owns
  };
  std::string node;
  std::vector<member> members;
  std::vector<capability> capabilities;
};

/// Most shards whose owners cluster.json lists one by one (the dashboard's grid).
inline constexpr std::uint64_t max_listed_shards = 4096;

namespace detail {
/// `s` as a Prometheus label value (backslash, double quote and newline escaped).
inline void append_label_value(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}
/// `s` as a JSON string, quotes included (control characters as \u00XX).
inline void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    auto const u = static_cast<unsigned char>(c);
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else out += c;
  }
  out += '"';
}
inline std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}
inline void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}
inline void sample(std::string& out, std::string_view name, std::string_view labels, std::string_view value) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(value).append("\n");
}
inline std::string actor_label(std::string_view actor) {
  std::string l = "actor=\"";
  append_label_value(l, actor);
  return l + "\"";
}
inline void histogram(std::string& out, std::string_view name, std::string const& labels, latency_histogram const& h) {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < latency_histogram::bucket_count; ++i) {
    cumulative += h.buckets[i];
    sample(out, std::string(name) + "_bucket", labels + ",le=\"" + number(latency_histogram::upper_bound_seconds(i)) + "\"",
           std::to_string(cumulative));
  }
  sample(out, std::string(name) + "_bucket", labels + ",le=\"+Inf\"", std::to_string(h.count));
  sample(out, std::string(name) + "_sum", labels, number(h.sum_seconds));
  sample(out, std::string(name) + "_count", labels, std::to_string(h.count));
}
}  // namespace detail

/// `m` in the Prometheus text exposition format 0.0.4 (docs/operations.md lists the metrics).
inline std::string prometheus_text(node_metrics const& m) {
  using namespace detail;
  std::string out;
  out.reserve(4096 + m.actors.size() * 8192);
  header(out, "mesh_node_info", "gauge", "Always 1; the node label names this node.");
  std::string node_label = "node=\"";
  append_label_value(node_label, m.node);
  sample(out, "mesh_node_info", node_label + "\"", "1");

  header(out, "mesh_calls_total", "counter", "Calls this node made, by actor type and outcome (ok or the mesh::errc name).");
  for (auto const& a : m.actors)
    for (std::size_t k = 0; k < a.calls.size(); ++k) {
      auto const code = static_cast<errc>(k);
      if (k != 0 && (a.calls[k] == 0 || !is_known(code))) continue;  // ok always, errors once seen
      sample(out, "mesh_calls_total", actor_label(a.actor) + ",outcome=\"" + std::string(to_string(code)) + "\"",
             std::to_string(a.calls[k]));
    }

  header(out, "mesh_call_duration_seconds", "histogram",
         "Call durations by actor type: location=\"remote\" every call sent to another node, location=\"local\" one local call in 64.");
  for (auto const& a : m.actors) {
    histogram(out, "mesh_call_duration_seconds", actor_label(a.actor) + ",location=\"local\"", a.local_latency);
    histogram(out, "mesh_call_duration_seconds", actor_label(a.actor) + ",location=\"remote\"", a.remote_latency);
  }

  header(out, "mesh_activations", "gauge", "Live activations on this node, by actor type.");
  for (auto const& a : m.actors) sample(out, "mesh_activations", actor_label(a.actor), std::to_string(a.activations));
  header(out, "mesh_mailbox_depth", "gauge", "Messages waiting in the mailboxes of this node's activations, by actor type.");
  for (auto const& a : m.actors) sample(out, "mesh_mailbox_depth", actor_label(a.actor), std::to_string(a.mailbox_depth));

  struct plain {
    char const* name;
    char const* type;
    char const* help;
    std::uint64_t value;
  };
  plain const rest[] = {
      {"mesh_members", "gauge", "Cluster members this node sees, itself included.", m.members},
      {"mesh_rebalances_total", "counter", "Membership changes after which this node re-checked the owners of its activations.", m.rebalances},
      {"mesh_handoffs_total", "counter", "Activations deactivated because their shard moved to another node (stateful ones handed off).", m.handoffs},
      {"mesh_handoffs_received_total", "counter", "Activations made on this node from state handed off by another node.", m.handoffs_in},
      {"mesh_frames_received_total", "counter", "Wire frames received.", m.frames_in},
      {"mesh_frames_sent_total", "counter", "Wire frames sent.", m.frames_out},
      {"mesh_bytes_received_total", "counter", "Bytes received (every part of every message).", m.bytes_in},
      {"mesh_bytes_sent_total", "counter", "Bytes sent.", m.bytes_out},
      {"mesh_bad_frames_total", "counter", "Undecodable frames dropped.", m.bad_frames},
      {"mesh_refused_peers_total", "counter", "Heartbeats or connections refused (schema mismatch, duplicate name, key not admitted).", m.refused_peers},
      {"mesh_send_failures_total", "counter", "Frames that could not be sent (peer gone, queue full).", m.send_failures},
      {"mesh_cast_drops_total", "counter", "Casts that could not be delivered.", m.cast_drops},
  };
  for (auto const& p : rest) {
    header(out, p.name, p.type, p.help);
    sample(out, p.name, {}, std::to_string(p.value));
  }
  return out;
}

/// The cluster view and this node's figures as JSON (the dashboard's one source; docs/operations.md).
inline std::string cluster_json(cluster_view const& v, node_metrics const& m) {
  using detail::append_json_string;
  std::string out = "{\"node\":";
  append_json_string(out, v.node);
  out += ",\"members\":[";
  for (std::size_t i = 0; i < v.members.size(); ++i) {
    if (i) out += ',';
    out += "{\"name\":";
    append_json_string(out, v.members[i].name);
    out += ",\"capabilities\":[";
    for (std::size_t k = 0; k < v.members[i].capabilities.size(); ++k) {
      if (k) out += ',';
      append_json_string(out, v.members[i].capabilities[k]);
    }
    out += "]}";
  }
  out += "],\"capabilities\":[";
  for (std::size_t i = 0; i < v.capabilities.size(); ++i) {
    auto const& c = v.capabilities[i];
    if (i) out += ',';
    out += "{\"name\":";
    append_json_string(out, c.name);
    out += ",\"nodes\":[";
    for (std::size_t k = 0; k < c.nodes.size(); ++k) {
      if (k) out += ',';
      append_json_string(out, c.nodes[k]);
    }
    out += "],\"shard_count\":" + std::to_string(c.shard_count) + ",\"owned_here\":" + std::to_string(c.owned_here);
    // Owner of each shard as an index into `nodes` (placement: sorted(nodes)[shard % size]).
    out += ",\"owners\":";
    if (c.nodes.empty() || c.shard_count > max_listed_shards) {
      out += "null";
    } else {
      out += '[';
      for (std::uint64_t s = 0; s < c.shard_count; ++s) {
        if (s) out += ',';
        out += std::to_string(s % c.nodes.size());
      }
      out += ']';
    }
    out += '}';
  }
  out += "],\"actors\":[";
  for (std::size_t i = 0; i < m.actors.size(); ++i) {
    auto const& a = m.actors[i];
    if (i) out += ',';
    out += "{\"actor\":";
    append_json_string(out, a.actor);
    out += ",\"capability\":";
    append_json_string(out, a.capability);
    out += ",\"activations\":" + std::to_string(a.activations) + ",\"mailbox_depth\":" + std::to_string(a.mailbox_depth) +
           ",\"calls_total\":" + std::to_string(a.calls_total()) + ",\"calls\":{";
    bool first = true;
    for (std::size_t k = 0; k < a.calls.size(); ++k) {
      if (a.calls[k] == 0 || !is_known(static_cast<errc>(k))) continue;
      if (!first) out += ',';
      first = false;
      append_json_string(out, to_string(static_cast<errc>(k)));
      out += ':' + std::to_string(a.calls[k]);
    }
    out += "}}";
  }
  out += "],\"members_count\":" + std::to_string(m.members) + ",\"transport\":{\"frames_in\":" + std::to_string(m.frames_in) +
         ",\"frames_out\":" + std::to_string(m.frames_out) + ",\"bytes_in\":" + std::to_string(m.bytes_in) +
         ",\"bytes_out\":" + std::to_string(m.bytes_out) + ",\"bad_frames\":" + std::to_string(m.bad_frames) +
         ",\"refused_peers\":" + std::to_string(m.refused_peers) + "},\"rebalances\":" + std::to_string(m.rebalances) +
         ",\"recent_errors\":[";
  for (std::size_t i = 0; i < m.recent_errors.size(); ++i) {
    auto const& e = m.recent_errors[i];
    if (i) out += ',';
    auto const ms = std::chrono::duration_cast<std::chrono::milliseconds>(e.at.time_since_epoch()).count();
    out += "{\"at_ms\":" + std::to_string(ms) + ",\"actor\":";
    append_json_string(out, e.actor);
    out += ",\"code\":";
    append_json_string(out, to_string(e.error.code));
    out += ",\"message\":";
    append_json_string(out, e.error.message);
    out += '}';
  }
  out += "]}";
  return out;
}

}  // namespace mesh::admin
