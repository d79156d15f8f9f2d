#pragma once
/// CurveZMQ keys of a cluster (API.md §5): the cluster secret (a CURVE secret key in Z85), its
/// public key, where the secret comes from (config, MESH_CLUSTER_SECRET, $HOME/.mesh/cluster_secret)
/// and lists of admitted public keys. Only libzmq's own functions (zmq_curve_keypair,
/// zmq_curve_public, zmq_z85_decode/encode): no libsodium include. POSIX only (the secret file).

#include <mesh/core/error.hpp>

#include <zmq.h>

#include <fcntl.h>
#include <sys/random.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace mesh::transport {

/// Length of a CURVE key in Z85 text (32 bytes encode to 40 characters).
inline constexpr std::size_t z85_key_chars = 40;
/// Length of a CURVE key in bytes.
inline constexpr std::size_t curve_key_bytes = 32;
/// Environment variable read when node_config::cluster_secret is empty (API.md §5).
inline constexpr char const* cluster_secret_env = "MESH_CLUSTER_SECRET";
/// Directory under $HOME holding the secret file, and the file's name (API.md §5).
inline constexpr std::string_view cluster_secret_dir = ".mesh";
inline constexpr std::string_view cluster_secret_file = "cluster_secret";
/// Largest secret file read (a key and a newline; anything much bigger is not a secret file).
inline constexpr std::size_t max_secret_file_bytes = 4096;

/// A CURVE key pair in Z85 text: the cluster's (from the cluster secret) or a node's own.
struct curve_keys {
  std::string secret_z85;  ///< 40 characters; never logged
  std::string public_z85;  ///< 40 characters; what authorized_keys and ZAP User-Id hold

  friend bool operator==(curve_keys const&, curve_keys const&) = default;
};

namespace detail {

/// The 85 characters of Z85 (ZeroMQ RFC 32), in value order.
inline constexpr std::string_view z85_alphabet =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

// Secrets should not outlive their use in stack buffers; volatile keeps the stores.
inline void wipe(void* p, std::size_t n) noexcept {
  auto* v = static_cast<unsigned char volatile*>(p);
  for (std::size_t i = 0; i < n; ++i) v[i] = 0;
}

inline std::string errno_text(int e) { return std::string(std::strerror(e)); }

/// `what` must be 40 characters of Z85 that decode to a key; error text names `what`.
inline result<void> check_z85_key(std::string_view key, std::string_view what) {
  if (key.size() != z85_key_chars)
    return fail(errc::invalid_argument, std::string(what) + " must be 40 characters of Z85 (got " +
                                            std::to_string(key.size()) + ")");
  for (std::size_t i = 0; i < key.size(); ++i) {
    if (z85_alphabet.find(key[i]) == std::string_view::npos)
      return fail(errc::invalid_argument, std::string(what) + " is not Z85: character " + std::to_string(i + 1) +
                                              " is not in the Z85 alphabet");
  }
  std::array<char, z85_key_chars + 1> text{};
  std::memcpy(text.data(), key.data(), key.size());
  std::array<std::uint8_t, curve_key_bytes> bin{};
  bool const ok = zmq_z85_decode(bin.data(), text.data()) != nullptr;  // also rejects overflowing groups
  wipe(bin.data(), bin.size());
  wipe(text.data(), text.size());
  if (!ok) return fail(errc::invalid_argument, std::string(what) + " is not valid Z85 (zmq_z85_decode refused it)");
  return {};
}

/// A fresh key pair from zmq_curve_keypair; an error when libzmq has no CURVE.
inline result<curve_keys> fresh_keys() {
  std::array<char, z85_key_chars + 1> pub{}, sec{};
  if (zmq_curve_keypair(pub.data(), sec.data()) != 0) {
    int const e = zmq_errno();
    return fail(errc::invalid_argument, "cannot generate a CURVE key pair: libzmq " +
                                            std::string(e == ENOTSUP ? "was built without CURVE (libsodium)" : zmq_strerror(e)));
  }
  curve_keys k{std::string(sec.data(), z85_key_chars), std::string(pub.data(), z85_key_chars)};
  wipe(sec.data(), sec.size());
  return k;
}

/// Trailing spaces, tabs, CR and LF removed.
inline std::string_view trim_right(std::string_view s) noexcept {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}
inline std::string_view trim(std::string_view s) noexcept {
  s = trim_right(s);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

inline std::string octal_mode(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

/// Reads the secret file at `path` through the open descriptor `fd` (which it closes): checks
/// owner and mode, then the content.
inline result<std::string> read_secret_fd(int fd, std::string const& path) {
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } guard{fd};
  struct stat st{};
  if (::fstat(fd, &st) != 0) return fail(errc::invalid_argument, "cannot stat " + path + ": " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) return fail(errc::invalid_argument, path + " is not a regular file");
  if (st.st_uid != ::geteuid())
    return fail(errc::unauthorized, path + " is owned by another user (uid " + std::to_string(st.st_uid) +
                                        "); the cluster secret must belong to the user running the node");
  if ((st.st_mode & 077) != 0)
    return fail(errc::unauthorized, path + " is accessible by group or others (mode " + octal_mode(st.st_mode) +
                                        "); run: chmod 600 " + path);
  std::string text(max_secret_file_bytes + 1, '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    ssize_t const n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errc::invalid_argument, "cannot read " + path + ": " + errno_text(errno));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > max_secret_file_bytes) return fail(errc::invalid_argument, path + " is too large to be a cluster secret");
  std::string secret(trim_right(std::string_view(text.data(), got)));
  wipe(text.data(), text.size());
  if (auto ok = check_z85_key(secret, path + ": cluster secret"); !ok) return std::move(ok).error();
  return secret;
}

/// Opens and reads `path`; errc::not_found when it does not exist.
inline result<std::string> read_secret_file(std::string const& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    int const e = errno;
    if (e == ENOENT) return fail(errc::not_found, path + " does not exist");
    return fail(errc::invalid_argument, "cannot open " + path + ": " + errno_text(e));
  }
  return read_secret_fd(fd, path);
}

/// Writes `secret` + newline to a new file in `dir` and links it to `path`, unless `path`
/// appeared meanwhile: returns the secret `path` holds afterwards, whoever wrote it.
inline result<std::string> create_secret_file(std::string const& dir, std::string const& path, std::string const& secret) {
  // A unique temporary name: pid, thread and a random number (getrandom(2): <random> would cost
  // every translation unit its parse time for one number), created with O_EXCL.
  auto random = [] {
    std::uint32_t v = 0;
    if (::getrandom(&v, sizeof v, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof v)) v = static_cast<std::uint32_t>(::clock());
    return v;
  };
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
    tmp = dir + "/." + std::string(cluster_secret_file) + ".tmp." + std::to_string(::getpid()) + "." +
          std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id()) & 0xffffff) + "." + std::to_string(random());
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno != EEXIST) return fail(errc::invalid_argument, "cannot create " + tmp + ": " + errno_text(errno));
  }
  if (fd < 0) return fail(errc::invalid_argument, "cannot create a temporary file in " + dir);
  struct cleanup {
    std::string const& tmp;
    ~cleanup() { ::unlink(tmp.c_str()); }  // the final name is a hard link: removing this one keeps it
  } unlink_tmp{tmp};
  auto const write_all = [&]() -> bool {
    if (::fchmod(fd, 0600) != 0) return false;  // whatever the umask
    std::string const body = secret + "\n";
    std::size_t done = 0;
    while (done < body.size()) {
      ssize_t const n = ::write(fd, body.data() + done, body.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      done += static_cast<std::size_t>(n);
    }
    return ::fsync(fd) == 0;
  };
  bool const written = write_all();
  int const write_errno = errno;
  ::close(fd);
  if (!written) return fail(errc::invalid_argument, "cannot write " + tmp + ": " + errno_text(write_errno));
  // link(2), not rename(2): rename would replace a file another process linked first, after it
  // had already returned its secret; link fails with EEXIST instead, and then we read theirs.
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    int const e = errno;
    if (e != EEXIST) return fail(errc::invalid_argument, "cannot create " + path + ": " + errno_text(e));
    return read_secret_file(path);
  }
  if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    (void)::fsync(dfd);  // the new name survives a crash; best effort
    ::close(dfd);
  }
  return secret;
}

}  // namespace detail

/// The key pair whose secret is `secret_z85`: checks it is 40 characters of valid Z85 and derives
/// the public key with zmq_curve_public. Errors: errc::invalid_argument ("cluster secret must be
/// 40 characters of Z85 (got 39)", "... is not Z85: character 7 is not in the Z85 alphabet").
/// Thread-safe.
inline result<curve_keys> keys_from_secret(std::string_view secret_z85) {
  if (auto ok = detail::check_z85_key(secret_z85, "cluster secret"); !ok) return std::move(ok).error();
  std::array<char, z85_key_chars + 1> sec{}, pub{};
  std::memcpy(sec.data(), secret_z85.data(), z85_key_chars);
  int const rc = zmq_curve_public(pub.data(), sec.data());
  int const e = zmq_errno();
  detail::wipe(sec.data(), sec.size());
  if (rc != 0)
    return fail(errc::invalid_argument, "cannot derive the public key: libzmq " +
                                            std::string(e == ENOTSUP ? "was built without CURVE (libsodium)" : zmq_strerror(e)));
  return curve_keys{std::string(secret_z85), std::string(pub.data(), z85_key_chars)};
}

/// Checks that `key_z85` is a public key in Z85 (40 characters that decode); errc::invalid_argument
/// otherwise, the text naming the problem. Thread-safe.
inline result<void> check_public_key(std::string_view key_z85) { return detail::check_z85_key(key_z85, "public key"); }

/// Validates each key of `keys` (node_config::authorized_keys): the keys without duplicates, in
/// their first order, or errc::invalid_argument naming the first bad entry ("authorized key 3 must
/// be 40 characters of Z85 (got 12)"). Thread-safe.
inline result<std::vector<std::string>> validate_public_keys(std::span<std::string const> keys) {
  std::vector<std::string> out;
  out.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (auto ok = detail::check_z85_key(keys[i], "authorized key " + std::to_string(i + 1)); !ok) return std::move(ok).error();
    bool seen = false;
    for (auto const& k : out) seen = seen || k == keys[i];
    if (!seen) out.push_back(keys[i]);
  }
  return out;
}

/// Parses an authorized_keys text: one public key (Z85, 40 characters) per line, optionally
/// followed by whitespace and a comment naming the node ("rq:rM>...yf7 node-3"); blank lines and
/// lines starting with '#' are ignored. The keys without duplicates, or errc::invalid_argument
/// naming the line ("authorized_keys line 4: public key must be 40 characters of Z85 (got 39)").
/// Thread-safe.
inline result<std::vector<std::string>> parse_authorized_keys(std::string_view text) {
  std::vector<std::string> out;
  std::size_t line_no = 0;
  while (!text.empty()) {
    auto const nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    line = detail::trim(line);
    if (line.empty() || line.front() == '#') continue;
    auto const end = line.find_first_of(" \t");
    std::string_view const key = line.substr(0, end);
    if (auto ok = check_public_key(key); !ok)
      return fail(errc::invalid_argument, "authorized_keys line " + std::to_string(line_no) + ": " + ok.error().message);
    bool seen = false;
    for (auto const& k : out) seen = seen || k == key;
    if (!seen) out.emplace_back(key);
  }
  return out;
}

/// The path of the cluster secret file: $HOME/.mesh/cluster_secret, or the home directory of the
/// password database (getpwuid_r) when HOME is unset or empty. errc::not_found when neither
/// gives one. Thread-safe as long as no thread changes the environment meanwhile.
inline result<std::string> cluster_secret_path() {
  std::string home;
  if (char const* h = std::getenv("HOME"); h != nullptr && *h != '\0') {
    home = h;
  } else {
    long const hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buf(hint > 0 ? static_cast<std::size_t>(hint) : 16384);
    struct passwd pw{};
    struct passwd* found = nullptr;
    int rc;
    while ((rc = ::getpwuid_r(::geteuid(), &pw, buf.data(), buf.size(), &found)) == ERANGE && buf.size() < (1u << 20))
      buf.resize(buf.size() * 2);
    if (rc != 0 || found == nullptr || found->pw_dir == nullptr || *found->pw_dir == '\0')
      return fail(errc::not_found, "HOME is not set and the password database has no home directory for uid " +
                                       std::to_string(::geteuid()) + "; set " + cluster_secret_env + " instead");
    home = found->pw_dir;
  }
  while (!home.empty() && home.back() == '/') home.pop_back();  // "/" becomes "": "/.mesh/..."
  return home + "/" + std::string(cluster_secret_dir) + "/" + std::string(cluster_secret_file);
}

/// The cluster secret in the order of API.md §5: `configured` (node_config::cluster_secret) when
/// not empty; else the environment variable MESH_CLUSTER_SECRET when set and not empty; else the
/// file $HOME/.mesh/cluster_secret (trailing whitespace ignored). When that file does not exist
/// it is created (directory mode 0700, file mode 0600) holding a fresh secret and a newline,
/// atomically: processes and threads racing on one host all end up with the same secret.
/// Whatever the source, the value is checked as by keys_from_secret.
///
/// Like ssh with its private keys, a secret file that group or others may access (any of the
/// 077 bits), or that another user owns, is refused with errc::unauthorized ("... (mode 0644);
/// run: chmod 600 ..."): the secret is never used, nor silently re-permissioned. Other failures
/// (bad content, I/O) are errc::invalid_argument naming the source; never throws (except
/// std::bad_alloc). Thread-safe as long as no thread changes the environment meanwhile.
inline result<std::string> resolve_cluster_secret(std::string const& configured) {
  auto const checked = [](std::string s, std::string_view source) -> result<std::string> {
    if (auto ok = detail::check_z85_key(s, std::string(source) + ": cluster secret"); !ok) return std::move(ok).error();
    return s;
  };
  if (!configured.empty()) return checked(configured, "node_config::cluster_secret");
  if (char const* env = std::getenv(cluster_secret_env); env != nullptr && *env != '\0')
    return checked(env, cluster_secret_env);

  auto path = cluster_secret_path();
  if (!path) return std::move(path).error();
  if (auto existing = detail::read_secret_file(*path); existing || existing.error().code != errc::not_found)
    return existing;

  std::string const dir = path->substr(0, path->rfind('/'));
  if (::mkdir(dir.c_str(), 0700) == 0) {
    (void)::chmod(dir.c_str(), 0700);  // whatever the umask
  } else if (errno != EEXIST) {
    return fail(errc::invalid_argument, "cannot create " + dir + ": " + detail::errno_text(errno));
  }
  auto fresh = detail::fresh_keys();
  if (!fresh) return std::move(fresh).error();
  auto out = detail::create_secret_file(dir, *path, fresh->secret_z85);
  detail::wipe(fresh->secret_z85.data(), fresh->secret_z85.size());
  return out;
}

}  // namespace mesh::transport

namespace mesh {

/// A fresh cluster secret: a CURVE secret key from zmq_curve_keypair, in Z85 (40 characters).
/// Give it to every member (node_config::cluster_secret, MESH_CLUSTER_SECRET or
/// $HOME/.mesh/cluster_secret); transport::keys_from_secret gives its public key. Throws
/// mesh::exception (errc::invalid_argument) only when libzmq was built without CURVE.
/// Thread-safe.
inline std::string generate_cluster_secret() {
  auto k = transport::detail::fresh_keys();
  if (!k) throw_error(k.error());
  return std::move(k->secret_z85);
}

}  // namespace mesh
