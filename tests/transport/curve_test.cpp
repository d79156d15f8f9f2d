// transport/curve.hpp: cluster secrets and their public keys, authorized_keys parsing, and where
// the secret comes from (config, MESH_CLUSTER_SECRET, $HOME/.mesh/cluster_secret) with a
// temporary HOME.
#include <mesh/transport/curve.hpp>

#include <doctest/doctest.h>
#include <zmq.h>

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using mesh::errc;
using mesh::transport::keys_from_secret;
using mesh::transport::resolve_cluster_secret;

bool contains(std::string const& text, std::string const& part) { return text.find(part) != std::string::npos; }

// Sets HOME to a fresh directory and unsets MESH_CLUSTER_SECRET for the scope of a test; puts
// both back and removes the directory afterwards.
class temp_home {
 public:
  temp_home() {
    save("HOME", home_);
    save("MESH_CLUSTER_SECRET", secret_);
    std::string templ = (fs::temp_directory_path() / "mesh-home-XXXXXX").string();
    REQUIRE(::mkdtemp(templ.data()) != nullptr);
    dir_ = templ;
    ::setenv("HOME", dir_.c_str(), 1);
    ::unsetenv("MESH_CLUSTER_SECRET");
  }
  ~temp_home() {
    restore("HOME", home_);
    restore("MESH_CLUSTER_SECRET", secret_);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string const& dir() const { return dir_; }
  std::string mesh_dir() const { return dir_ + "/.mesh"; }
  std::string secret_file() const { return dir_ + "/.mesh/cluster_secret"; }

 private:
  static void save(char const* name, std::optional<std::string>& into) {
    if (char const* v = std::getenv(name)) into = v;
  }
  static void restore(char const* name, std::optional<std::string> const& value) {
    if (value) ::setenv(name, value->c_str(), 1);
    else ::unsetenv(name);
  }
  std::optional<std::string> home_, secret_;
  std::string dir_;
};

unsigned mode_of(std::string const& path) {
  struct stat st{};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<unsigned>(st.st_mode & 07777);
}

void write_file(std::string const& path, std::string const& text, mode_t mode) {
  fs::create_directories(fs::path(path).parent_path());
  { std::ofstream(path, std::ios::binary | std::ios::trunc) << text; }
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

// POSIX read: std::istreambuf_iterator trips g++ 12's -Wnull-dereference inside <streambuf>.
std::string read_file(std::string const& path) {
  std::string text;
  int const fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  char buf[256];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return text;
}

}  // namespace

TEST_CASE("generate_cluster_secret returns 40 characters of Z85, fresh each time") {
  auto const a = mesh::generate_cluster_secret();
  auto const b = mesh::generate_cluster_secret();
  CHECK(a.size() == 40);
  CHECK(a != b);
  for (char c : a) CHECK(mesh::transport::detail::z85_alphabet.find(c) != std::string_view::npos);
}

TEST_CASE("keys_from_secret derives the public key zmq_curve_keypair made with the secret") {
  char pub[41], sec[41];
  REQUIRE(zmq_curve_keypair(pub, sec) == 0);
  auto const keys = keys_from_secret(sec);
  REQUIRE(keys.has_value());
  CHECK(keys->secret_z85 == std::string(sec));
  CHECK(keys->public_z85 == std::string(pub));

  auto const again = keys_from_secret(mesh::generate_cluster_secret());
  REQUIRE(again.has_value());
  CHECK(again->public_z85.size() == 40);
  CHECK(again->public_z85 != again->secret_z85);
}

TEST_CASE("keys_from_secret rejects a secret of the wrong length") {
  auto const secret = mesh::generate_cluster_secret();
  auto const short_one = keys_from_secret(std::string_view(secret).substr(0, 39));
  REQUIRE_FALSE(short_one.has_value());
  CHECK(short_one.error().code == errc::invalid_argument);
  CHECK(short_one.error().message == "cluster secret must be 40 characters of Z85 (got 39)");
  CHECK_FALSE(keys_from_secret("").has_value());
  CHECK_FALSE(keys_from_secret(secret + "0").has_value());
}

TEST_CASE("keys_from_secret rejects characters outside Z85 and groups that overflow") {
  auto secret = mesh::generate_cluster_secret();
  for (char bad : {'~', ' ', ',', '"', '\0'}) {
    auto s = secret;
    s[6] = bad;
    auto const r = keys_from_secret(s);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == errc::invalid_argument);
    CHECK(contains(r.error().message, "character 7 is not in the Z85 alphabet"));
  }
  // Valid characters, but "%%%%%" is over 2^32: not the encoding of any key.
  auto const overflow = keys_from_secret(std::string(5, '%') + secret.substr(5));
  REQUIRE_FALSE(overflow.has_value());
  CHECK(contains(overflow.error().message, "not valid Z85"));
}

TEST_CASE("parse_authorized_keys reads one key per line with comments and drops duplicates") {
  auto const a = keys_from_secret(mesh::generate_cluster_secret())->public_z85;
  auto const b = keys_from_secret(mesh::generate_cluster_secret())->public_z85;
  auto const text = "# members of the cluster\n\n" + a + " node-1\n  " + b + "\tnode-2 (rack 3)\r\n" + a + "\n";
  auto const keys = mesh::transport::parse_authorized_keys(text);
  REQUIRE(keys.has_value());
  CHECK(*keys == std::vector<std::string>{a, b});

  auto const empty = mesh::transport::parse_authorized_keys("# nobody yet\n");
  REQUIRE(empty.has_value());
  CHECK(empty->empty());
}

TEST_CASE("parse_authorized_keys names the line of a bad key") {
  auto const a = keys_from_secret(mesh::generate_cluster_secret())->public_z85;
  auto const bad = mesh::transport::parse_authorized_keys(a + "\n# comment\n" + a.substr(1) + " node-3\n");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == errc::invalid_argument);
  CHECK(bad.error().message == "authorized_keys line 3: public key must be 40 characters of Z85 (got 39)");
}

TEST_CASE("validate_public_keys accepts keys and names the first bad entry") {
  auto const a = keys_from_secret(mesh::generate_cluster_secret())->public_z85;
  std::vector<std::string> const good{a, a};
  auto const ok = mesh::transport::validate_public_keys(good);
  REQUIRE(ok.has_value());
  CHECK(*ok == std::vector<std::string>{a});
  std::vector<std::string> const bad{a, "not a key"};
  auto const r = mesh::transport::validate_public_keys(bad);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message == "authorized key 2 must be 40 characters of Z85 (got 9)");
  CHECK_FALSE(mesh::transport::check_public_key(a.substr(0, 20)).has_value());
  CHECK(mesh::transport::check_public_key(a).has_value());
}

TEST_CASE("resolve_cluster_secret creates the secret file with mode 0600 in a 0700 directory") {
  temp_home home;
  auto const first = resolve_cluster_secret("");
  REQUIRE(first.has_value());
  CHECK(first->size() == 40);
  CHECK(keys_from_secret(*first).has_value());
  CHECK(mode_of(home.mesh_dir()) == 0700);
  CHECK(mode_of(home.secret_file()) == 0600);
  CHECK(read_file(home.secret_file()) == *first + "\n");

  auto const second = resolve_cluster_secret("");
  REQUIRE(second.has_value());
  CHECK(*second == *first);
  // Only the secret is left in the directory (the temporary file was removed).
  std::vector<std::string> names;
  for (auto const& e : fs::directory_iterator(home.mesh_dir())) names.push_back(e.path().filename().string());
  CHECK(names == std::vector<std::string>{"cluster_secret"});
}

TEST_CASE("resolve_cluster_secret reads an existing file and ignores its trailing whitespace") {
  temp_home home;
  auto const secret = mesh::generate_cluster_secret();
  write_file(home.secret_file(), secret + " \r\n\n", 0600);
  auto const r = resolve_cluster_secret("");
  REQUIRE(r.has_value());
  CHECK(*r == secret);
}

TEST_CASE("resolve_cluster_secret prefers MESH_CLUSTER_SECRET to the file and the configured value to both") {
  temp_home home;
  auto const from_file = resolve_cluster_secret("");
  REQUIRE(from_file.has_value());
  auto const from_env = mesh::generate_cluster_secret();
  ::setenv("MESH_CLUSTER_SECRET", from_env.c_str(), 1);
  auto const r1 = resolve_cluster_secret("");
  REQUIRE(r1.has_value());
  CHECK(*r1 == from_env);

  auto const configured = mesh::generate_cluster_secret();
  auto const r2 = resolve_cluster_secret(configured);
  REQUIRE(r2.has_value());
  CHECK(*r2 == configured);

  ::setenv("MESH_CLUSTER_SECRET", "", 1);  // set but empty: the file again
  auto const r3 = resolve_cluster_secret("");
  REQUIRE(r3.has_value());
  CHECK(*r3 == *from_file);
}

TEST_CASE("resolve_cluster_secret names the source of a bad secret") {
  temp_home home;
  ::setenv("MESH_CLUSTER_SECRET", "short", 1);
  auto const from_env = resolve_cluster_secret("");
  REQUIRE_FALSE(from_env.has_value());
  CHECK(from_env.error().code == errc::invalid_argument);
  CHECK(from_env.error().message == "MESH_CLUSTER_SECRET: cluster secret must be 40 characters of Z85 (got 5)");

  auto const configured = resolve_cluster_secret("x");
  REQUIRE_FALSE(configured.has_value());
  CHECK(contains(configured.error().message, "node_config::cluster_secret: cluster secret must be 40"));

  ::unsetenv("MESH_CLUSTER_SECRET");
  write_file(home.secret_file(), "garbage\n", 0600);
  auto const from_file = resolve_cluster_secret("");
  REQUIRE_FALSE(from_file.has_value());
  CHECK(from_file.error().code == errc::invalid_argument);
  CHECK(contains(from_file.error().message, home.secret_file()));
  CHECK(read_file(home.secret_file()) == "garbage\n");  // never overwritten
}

TEST_CASE("resolve_cluster_secret refuses a secret file that group or others can read") {
  temp_home home;
  auto const secret = mesh::generate_cluster_secret();
  write_file(home.secret_file(), secret + "\n", 0644);
  auto const r = resolve_cluster_secret("");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == errc::unauthorized);
  CHECK(r.error().message == home.secret_file() + " is accessible by group or others (mode 0644); run: chmod 600 " +
                                 home.secret_file());
  CHECK(mode_of(home.secret_file()) == 0644);  // left as it was

  REQUIRE(::chmod(home.secret_file().c_str(), 0600) == 0);
  auto const fixed = resolve_cluster_secret("");
  REQUIRE(fixed.has_value());
  CHECK(*fixed == secret);
}

TEST_CASE("resolve_cluster_secret gives every thread racing on a fresh HOME the same secret") {
  temp_home home;
  constexpr int threads = 8;
  std::vector<std::string> got(threads);
  std::vector<int> ok(threads, 0);  // not vector<bool>: threads write neighbouring elements
  std::atomic<int> ready{0};
  {
    std::vector<std::jthread> pool;
    for (int i = 0; i < threads; ++i) {
      pool.emplace_back([&, i] {
        ready.fetch_add(1);
        while (ready.load() < threads) std::this_thread::yield();
        auto r = resolve_cluster_secret("");
        if (r) got[static_cast<std::size_t>(i)] = *r;
        ok[static_cast<std::size_t>(i)] = r.has_value() ? 1 : 0;
      });
    }
  }
  for (int i = 0; i < threads; ++i) CHECK(ok[static_cast<std::size_t>(i)]);
  CHECK(std::set<std::string>(got.begin(), got.end()).size() == 1);
  CHECK(read_file(home.secret_file()) == got[0] + "\n");
  std::size_t files = 0;
  for ([[maybe_unused]] auto const& e : fs::directory_iterator(home.mesh_dir())) ++files;
  CHECK(files == 1);
}

TEST_CASE("resolve_cluster_secret gives processes started at once on one host the same secret") {
  temp_home home;
  constexpr int processes = 4;
  int go[2];
  REQUIRE(::pipe(go) == 0);
  std::vector<pid_t> children;
  std::vector<int> results;
  for (int i = 0; i < processes; ++i) {
    int out[2];
    REQUIRE(::pipe(out) == 0);
    pid_t const pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {  // child: wait for the start, resolve, write the secret (or nothing), exit
      ::close(go[1]);
      ::close(out[0]);
      char start;
      if (::read(go[0], &start, 1) != 1) ::_exit(2);
      auto r = resolve_cluster_secret("");
      if (r) (void)!::write(out[1], r->data(), r->size());
      ::_exit(r ? 0 : 1);
    }
    ::close(out[1]);
    children.push_back(pid);
    results.push_back(out[0]);
  }
  ::close(go[0]);
  REQUIRE(::write(go[1], "gggg", processes) == processes);  // all start together
  ::close(go[1]);

  std::set<std::string> secrets;
  auto const until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (int fd : results) {
    std::string got;
    char buf[64];
    while (std::chrono::steady_clock::now() < until) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      ssize_t const n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    CHECK(got.size() == 40);
    secrets.insert(got);
  }
  for (pid_t pid : children) {
    int status = 0;
    if (std::chrono::steady_clock::now() >= until) ::kill(pid, SIGKILL);
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  }
  CHECK(secrets.size() == 1);
  CHECK(read_file(home.secret_file()) == *secrets.begin() + "\n");
}

TEST_CASE("cluster_secret_path falls back to the password database when HOME is unset") {
  temp_home home;
  auto const with_home = mesh::transport::cluster_secret_path();
  REQUIRE(with_home.has_value());
  CHECK(*with_home == home.secret_file());

  ::unsetenv("HOME");
  struct passwd* pw = ::getpwuid(::geteuid());
  auto const without = mesh::transport::cluster_secret_path();
  if (pw == nullptr || pw->pw_dir == nullptr || *pw->pw_dir == '\0') {
    CHECK_FALSE(without.has_value());
  } else {
    REQUIRE(without.has_value());
    std::string dir = pw->pw_dir;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    CHECK(*without == dir + "/.mesh/cluster_secret");
  }
}
