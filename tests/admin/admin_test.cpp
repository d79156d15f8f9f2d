// mesh::admin_server and node::metrics(): the Prometheus text parsed strictly, counters against
// the calls made across two real processes, cluster.json, the dashboard in headless Chromium,
// and the W3C traceparent reaching a remote handler.
#include "ops_schema.hpp"

#include <mesh/admin.hpp>

#include <doctest/doctest.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

using namespace std::chrono_literals;

// ---- a strict parser of the Prometheus text exposition format 0.0.4 ---------------------------

struct exposition {
  std::map<std::string, std::string> types;    // family -> type
  std::map<std::string, double> samples;       // "name{a="x",b="y"}" (labels sorted) -> value
  double at(std::string const& key) const {
    auto it = samples.find(key);
    if (it == samples.end()) throw std::runtime_error("no sample " + key);
    return it->second;
  }
};

bool metric_name(std::string const& s) { return std::regex_match(s, std::regex("[a-zA-Z_:][a-zA-Z0-9_:]*")); }

double parse_value(std::string const& v) {
  if (v == "+Inf") return INFINITY;
  if (v == "-Inf") return -INFINITY;
  if (v == "NaN") return NAN;
  std::size_t used = 0;
  double const d = std::stod(v, &used);
  if (used != v.size()) throw std::runtime_error("bad value '" + v + "'");
  return d;
}

/// Throws on anything the format does not allow; checks histograms (buckets non-decreasing,
/// a +Inf bucket equal to _count, _sum present).
exposition parse_prometheus(std::string const& text) {
  exposition e;
  std::set<std::string> helped;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  auto fail = [&](std::string const& why) { throw std::runtime_error("line " + std::to_string(n) + ": " + why + ": " + line); };
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::smatch m;
      if (std::regex_match(line, m, std::regex("# HELP ([^ ]+) (.*)"))) {
        if (!metric_name(m[1]) || !helped.insert(m[1]).second) fail("bad or repeated HELP");
      } else if (std::regex_match(line, m, std::regex("# TYPE ([^ ]+) (counter|gauge|histogram|summary|untyped)"))) {
        if (!metric_name(m[1]) || e.types.count(m[1])) fail("bad or repeated TYPE");
        e.types[m[1]] = m[2];
      } else if (line.rfind("# HELP", 0) == 0 || line.rfind("# TYPE", 0) == 0) {
        fail("malformed HELP/TYPE");
      }
      continue;
    }
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    std::string const name = line.substr(0, i);
    if (!metric_name(name)) fail("bad metric name");
    std::map<std::string, std::string> labels;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::size_t j = i;
        while (j < line.size() && line[j] != '=') ++j;
        std::string const lname = line.substr(i, j - i);
        if (!std::regex_match(lname, std::regex("[a-zA-Z_][a-zA-Z0-9_]*")) || j + 1 >= line.size() || line[j + 1] != '"')
          fail("bad label name");
        std::string value;
        for (j += 2;; ++j) {
          if (j >= line.size()) fail("unterminated label value");
          if (line[j] == '"') break;
          if (line[j] == '\\') {
            ++j;
            if (j >= line.size() || (line[j] != '\\' && line[j] != '"' && line[j] != 'n')) fail("bad escape");
            value += line[j] == 'n' ? '\n' : line[j];
          } else {
            value += line[j];
          }
        }
        if (!labels.emplace(lname, value).second) fail("repeated label");
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
        else if (i >= line.size() || line[i] != '}') fail("expected , or }");
      }
      if (i >= line.size()) fail("unterminated labels");
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') fail("expected a space before the value");
    std::string rest = line.substr(i + 1);
    auto const sp = rest.find(' ');
    std::string const value = rest.substr(0, sp);
    if (sp != std::string::npos && !std::regex_match(rest.substr(sp + 1), std::regex("-?[0-9]+"))) fail("bad timestamp");
    // Its family: the name itself, or a histogram's name without _bucket/_sum/_count.
    std::string family = name;
    for (std::string suffix : {"_bucket", "_sum", "_count"})
      if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        auto const base = name.substr(0, name.size() - suffix.size());
        if (e.types.count(base) && e.types[base] == "histogram") family = base;
      }
    if (!e.types.count(family)) fail("sample before its TYPE");
    if (e.types[family] == "histogram" && family == name) fail("histogram sample without a suffix");
    if (name.size() > 7 && name.compare(name.size() - 7, 7, "_bucket") == 0 && !labels.count("le")) fail("bucket without le");
    std::string key = name + "{";
    bool first = true;
    for (auto const& [k, v] : labels) {
      key += (first ? "" : ",") + k + "=\"" + v + "\"";
      first = false;
    }
    key += "}";
    double v = 0;
    try {
      v = parse_value(value);
    } catch (...) {
      fail("bad value");
    }
    if (!e.samples.emplace(key, v).second) fail("duplicate series");
  }
  // Histograms: per series (labels but le), buckets non-decreasing in le, +Inf == _count.
  for (auto const& [family, type] : e.types) {
    if (type != "histogram") continue;
    std::map<std::string, std::vector<std::pair<double, double>>> series;
    std::regex bucket("^" + family + "_bucket\\{(.*)le=\"([^\"]+)\"(.*)\\}$");
    for (auto const& [key, v] : e.samples) {
      std::smatch m;
      if (!std::regex_match(key, m, bucket)) continue;
      // The other labels, as the sorted key writes them without le.
      std::string rest = std::string(m[1]) + std::string(m[3]);
      if (auto const at = rest.find(",,"); at != std::string::npos) rest.erase(at, 1);
      if (!rest.empty() && rest.back() == ',') rest.pop_back();
      if (!rest.empty() && rest.front() == ',') rest.erase(0, 1);
      series[rest].push_back({parse_value(m[2]), v});
    }
    if (series.empty()) throw std::runtime_error("histogram " + family + " has no buckets");
    for (auto& [labels, buckets] : series) {
      std::sort(buckets.begin(), buckets.end());
      for (std::size_t k = 1; k < buckets.size(); ++k)
        if (buckets[k].second < buckets[k - 1].second) throw std::runtime_error(family + " buckets decrease: " + labels);
      if (!std::isinf(buckets.back().first)) throw std::runtime_error(family + " has no +Inf bucket: " + labels);
      auto const count = e.at(family + "_count{" + labels + "}");
      (void)e.at(family + "_sum{" + labels + "}");
      if (buckets.back().second != count) throw std::runtime_error(family + " +Inf bucket != _count: " + labels);
    }
  }
  return e;
}

std::string http_get(std::uint16_t port, std::string const& path) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(10, 0);
  auto r = c.Get(path.c_str());
  REQUIRE_MESSAGE(r, "GET " << path << " failed: " << httplib::to_string(r.error()));
  REQUIRE(r->status == 200);
  return r->body;
}

// ---- a member process ---------------------------------------------------------------------

/// mesh_admin_member as a child process; it ends when we close its stdin (or we die).
class member_process {
 public:
  member_process(std::string const& name, std::string const& seed = {}) {
    int out[2], in[2];
    REQUIRE(::pipe(out) == 0);
    REQUIRE(::pipe(in) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    std::vector<std::string> args{MESH_ADMIN_MEMBER_PATH, name};
    if (!seed.empty()) args.push_back(seed);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int const rc = posix_spawn(&pid_, MESH_ADMIN_MEMBER_PATH, &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(out[1]);
    ::close(in[0]);
    stdin_ = in[1];
    REQUIRE_MESSAGE(rc == 0, "posix_spawn " MESH_ADMIN_MEMBER_PATH " failed");
    FILE* f = ::fdopen(out[0], "r");
    char line[512];
    for (int k = 0; k < 2 && std::fgets(line, sizeof line, f); ++k) {
      std::string s(line);
      if (!s.empty() && s.back() == '\n') s.pop_back();
      if (s.rfind("ENDPOINT ", 0) == 0) endpoint = s.substr(9);
      if (s.rfind("ADMIN ", 0) == 0) admin_port = static_cast<std::uint16_t>(std::stoi(s.substr(6)));
    }
    std::fclose(f);
    REQUIRE_MESSAGE((!endpoint.empty() && admin_port != 0), "member process did not report its endpoints");
  }
  ~member_process() {
    ::close(stdin_);
    int status = 0;
    for (int i = 0; i < 500 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) std::this_thread::sleep_for(10ms);
    if (::waitpid(pid_, &status, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
  }
  std::string endpoint;
  std::uint16_t admin_port = 0;

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
};

mesh::node_config caller_config(std::string const& seed) {
  mesh::node_config c;
  c.name = "caller";
  c.listen = "tcp://127.0.0.1:*";
  c.seeds = {seed};
  c.heartbeat_interval = 50ms;
  c.workers = 2;
  c.insecure = true;
  c.logger = [](std::string_view) {};
  return c;
}

template <class Pred>
bool eventually(Pred&& p, std::chrono::milliseconds limit = 10s) {
  auto const until = std::chrono::steady_clock::now() + limit;
  while (!p()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

constexpr char const* trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

}  // namespace

TEST_CASE("node::metrics counts local calls by actor and outcome, and /metrics parses as strict Prometheus text" *
          doctest::timeout(30)) {
  mesh::node<ops::schema> n;
  n.register_capabilities<ops::ops_cap>();
  for (int i = 0; i < 300; ++i) REQUIRE(n.call<ops::Echo>("e" + std::to_string(i % 5), ops::Trace{}));
  for (int i = 0; i < 3; ++i) CHECK(n.call<ops::Echo>("boom", ops::Boom{}).error().code == mesh::errc::actor_failed);
  std::vector<mesh::future<std::string>> fs;
  for (int i = 0; i < 50; ++i) fs.push_back(n.call_async<ops::Echo>("a" + std::to_string(i % 3), ops::Trace{}));
  for (auto& f : fs) REQUIRE(f.get());

  auto const m = n.metrics();
  REQUIRE(m.actors.size() == 1);
  CHECK(m.actors[0].actor == "echo");
  CHECK(m.actors[0].calls_with(mesh::errc::ok) == 350);
  CHECK(m.actors[0].calls_with(mesh::errc::actor_failed) == 3);
  CHECK(m.actors[0].activations == 9);  // e0..e4, a0..a2 and boom (its instance discarded when it threw, as n.activation_count counts)
  CHECK(m.recent_errors.size() == 3);
  CHECK(m.recent_errors.back().error.message.find("boom") != std::string::npos);
  CHECK(m.actors[0].remote_latency.count == 0);
  CHECK(m.actors[0].activations == n.activation_count<ops::Echo>());

  mesh::admin_server admin{n, "127.0.0.1:0"};
  auto const e = parse_prometheus(http_get(admin.port(), "/metrics"));
  CHECK(e.types.at("mesh_calls_total") == "counter");
  CHECK(e.types.at("mesh_call_duration_seconds") == "histogram");
  CHECK(e.at("mesh_calls_total{actor=\"echo\",outcome=\"ok\"}") == 350);
  CHECK(e.at("mesh_calls_total{actor=\"echo\",outcome=\"actor_failed\"}") == 3);
  CHECK(e.at("mesh_activations{actor=\"echo\"}") == 9);
  CHECK(e.at("mesh_members{}") == 1);
  CHECK(e.at("mesh_mailbox_depth{actor=\"echo\"}") == 0);
}

TEST_CASE("node_config::metrics false leaves the call counters at zero" * doctest::timeout(30)) {
  mesh::node_config c;
  c.metrics = false;
  mesh::node<ops::schema> n{c};
  n.register_capabilities<ops::ops_cap>();
  for (int i = 0; i < 100; ++i) REQUIRE(n.call<ops::Echo>("e", ops::Trace{}));
  auto const m = n.metrics();
  CHECK(m.actors.at(0).calls_total() == 0);
  CHECK(m.actors.at(0).activations == 1);
}

TEST_CASE("admin_server refuses a malformed address with invalid_argument" * doctest::timeout(30)) {
  mesh::node<ops::schema> n;
  for (char const* bad : {"127.0.0.1", "127.0.0.1:", ":80", "127.0.0.1:70000", "127.0.0.1:x1"}) {
    try {
      mesh::admin_server a{n, bad};
      FAIL("accepted " << bad);
    } catch (mesh::exception const& e) {
      CHECK(e.error().code == mesh::errc::invalid_argument);
    }
  }
}

TEST_CASE("trace_scope takes only a valid W3C traceparent" * doctest::timeout(10)) {
  CHECK(mesh::is_valid_traceparent(trace));
  CHECK_FALSE(mesh::is_valid_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
  CHECK_FALSE(mesh::is_valid_traceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  CHECK_FALSE(mesh::is_valid_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
  mesh::trace_scope bad{"garbage"};
  CHECK_FALSE(bad.active());
  CHECK(mesh::current_traceparent().empty());
  {
    mesh::trace_scope good{trace};
    CHECK(good.active());
    CHECK(mesh::current_traceparent() == trace);
  }
  CHECK(mesh::current_traceparent().empty());
}

TEST_CASE("two member processes: counters match the calls made, cluster.json lists both, traceparent reaches the remote handler" *
          doctest::timeout(60)) {
  member_process member("member");
  mesh::node<ops::schema> caller{caller_config(member.endpoint)};
  mesh::admin_server admin{caller, "127.0.0.1:0"};
  REQUIRE(eventually([&] { return caller.nodes_for<ops::ops_cap>() == std::vector<std::string>{"member"}; }));

  constexpr int calls = 200;
  for (int i = 0; i < calls; ++i) REQUIRE(caller.call<ops::Echo>("r" + std::to_string(i % 10), ops::Trace{}));
  for (int i = 0; i < 2; ++i) CHECK(caller.call<ops::Echo>("boom", ops::Boom{}).error().code == mesh::errc::actor_failed);

  SUBCASE("traceparent") {
    auto none = caller.call<ops::Echo>("t", ops::Trace{});
    REQUIRE(none);
    CHECK(none->value.empty());
    mesh::trace_scope scope{trace};
    auto traced = caller.call<ops::Echo>("t", ops::Trace{});
    REQUIRE(traced);
    CHECK(traced->value == trace);
    CHECK(traced->ref.node == "member");
    // The remote handler's own call carries it on (to an activation on the same member).
    auto relayed = caller.call<ops::Echo>("t", ops::Relay{"t2"});
    REQUIRE(relayed);
    CHECK(relayed->value == trace);
  }

  SUBCASE("metrics and cluster.json") {
    auto const mine = parse_prometheus(http_get(admin.port(), "/metrics"));
    CHECK(mine.at("mesh_calls_total{actor=\"echo\",outcome=\"ok\"}") == calls);
    CHECK(mine.at("mesh_calls_total{actor=\"echo\",outcome=\"actor_failed\"}") == 2);
    CHECK(mine.at("mesh_call_duration_seconds_count{actor=\"echo\",location=\"remote\"}") == calls + 2);
    CHECK(mine.at("mesh_activations{actor=\"echo\"}") == 0);  // the caller hosts none
    CHECK(mine.at("mesh_members{}") == 2);
    CHECK(mine.at("mesh_frames_sent_total{}") >= calls);
    CHECK(mine.at("mesh_bytes_sent_total{}") > 0);
    CHECK(mine.at("mesh_bad_frames_total{}") == 0);

    auto const theirs = parse_prometheus(http_get(member.admin_port, "/metrics"));
    CHECK(theirs.at("mesh_activations{actor=\"echo\"}") == 11);  // r0..r9 and boom (emptied when it threw, still there)
    CHECK(theirs.at("mesh_calls_total{actor=\"echo\",outcome=\"ok\"}") == 0);  // it made no calls
    CHECK(theirs.at("mesh_frames_received_total{}") >= calls);

    for (auto port : {admin.port(), member.admin_port}) {
      auto const j = http_get(port, "/cluster.json");
      CHECK(j.find("{\"name\":\"caller\",\"capabilities\":[]}") != std::string::npos);
      CHECK(j.find("{\"name\":\"member\",\"capabilities\":[\"ops\"]}") != std::string::npos);
      CHECK(j.find("\"shard_count\":4096") != std::string::npos);
    }
    CHECK(http_get(member.admin_port, "/cluster.json").find("\"owned_here\":4096") != std::string::npos);
    CHECK(http_get(admin.port(), "/cluster.json").find("\"code\":\"actor_failed\"") != std::string::npos);
  }

  SUBCASE("the dashboard in headless Chromium shows both members") {
    if (std::system("command -v chromium >/dev/null 2>&1") != 0) {
      MESSAGE("chromium not installed (Debian: apt-get install chromium): dashboard check skipped");
      return;
    }
    CHECK(http_get(member.admin_port, "/").find("cluster.json") != std::string::npos);
    // --virtual-time-budget lets the page's poll complete before the DOM is dumped.
    std::string const cmd = "timeout 40 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage "
                            "--virtual-time-budget=5000 --dump-dom http://127.0.0.1:" +
                            std::to_string(member.admin_port) + "/ 2>/dev/null";
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p);
    std::string dom;
    char buf[4096];
    while (auto k = std::fread(buf, 1, sizeof buf, p)) dom.append(buf, k);
    ::pclose(p);
    INFO("DOM: " << dom.substr(0, 2000));
    CHECK(dom.find("<td class=\"member\">caller") != std::string::npos);
    CHECK(dom.find("<td class=\"member\">member") != std::string::npos);
  }
}

TEST_CASE("a request header carries a traceparent as an 11th field only when one is set" * doctest::timeout(10)) {
  mesh::wire::header h;
  h.k = mesh::wire::kind::call;
  h.actor = "echo";
  h.id = "x";
  auto const plain = mesh::wire::encode_header(h);
  CHECK(static_cast<unsigned char>(plain[0]) == 0x99);  // 9 fields, as before traceparent existed
  h.traceparent = trace;
  auto const traced = mesh::wire::encode_header(h);
  CHECK(static_cast<unsigned char>(traced[0]) == 0x9b);  // the 10th, the call chain, is then 0
  CHECK(traced.size() == plain.size() + 1 + 2 + 55);  // chain 0 (one byte); str8: 0xd9, length, bytes
  auto back = mesh::wire::decode_header(traced);
  REQUIRE(back);
  CHECK(*back == h);
  mesh::wire::header reused = *back;  // decoding into a header that had one clears it
  REQUIRE(mesh::wire::decode_header_into(plain, reused));
  CHECK(reused.traceparent.empty());
  // An empty or over-long 11th field is refused, not taken as absent.
  auto with = [&](std::string const& tp) {
    auto bytes = plain;
    bytes[0] = static_cast<char>(0x9b);
    bytes += '\0';  // chain 0
    bytes += static_cast<char>(0xd9);
    bytes += static_cast<char>(tp.size());
    return bytes + tp;
  };
  CHECK(mesh::wire::decode_header(with("")).error().code == mesh::errc::bad_message);
  CHECK(mesh::wire::decode_header(with(std::string(255, 'a'))));
  auto big = plain;
  big[0] = static_cast<char>(0x9b);
  big += '\0';
  big += static_cast<char>(0xda);
  big += static_cast<char>(0x01);
  big += static_cast<char>(0x01);
  big += std::string(257, 'a');
  CHECK(mesh::wire::decode_header(big).error().code == mesh::errc::bad_message);
}
