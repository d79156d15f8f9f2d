#pragma once
/// mesh::stores::redis(url): actor states in a Redis server, for clusters spanning machines.
/// Links hiredis (CMake target mesh::redis, or -lhiredis); <mesh/mesh.hpp> does not include this
/// header. docs/state.md says what survives what.

#include <mesh/core/error.hpp>
#include <mesh/store/store.hpp>

#include <hiredis/hiredis.h>

#include <sys/time.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mesh::stores {

/// Tuning of a Redis store.
struct redis_options {
  /// Longest wait for a TCP connection to the server.
  std::chrono::milliseconds connect_timeout{2000};
  /// Longest wait for one command's answer; past it the call fails with errc::store_failed.
  std::chrono::milliseconds command_timeout{2000};
  /// Prefix of every key ("<prefix><actor length>:<actor>:<id>", a hash with fields epoch, owner
  /// and bytes), so that several applications can share one server.
  std::string key_prefix = "mesh:";
};

namespace detail {

/// The Redis store: one connection under a mutex, reconnected after an I/O error. Claim and the
/// fenced save/erase are Lua scripts (EVALSHA, loaded on connect): Redis runs a script atomically.
class redis_store final : public mesh::store {
 public:
  redis_store(std::string url, redis_options o) : url_(std::move(url)), opts_(std::move(o)) {
    parse_url();
    std::lock_guard lk(m_);
    if (auto ok = connect(); !ok) throw mesh::exception(ok.error());
  }
  ~redis_store() override { disconnect(); }

  result<claimed_state> claim(std::string_view actor, std::string_view id, std::string_view owner) override {
    auto r = run(claim_sha_, key(actor, id), {owner});
    if (!r) return std::move(r).error();
    redisReply const* a = r->get();
    if (a->type != REDIS_REPLY_ARRAY || a->elements != 2 || a->element[0]->type != REDIS_REPLY_INTEGER)
      return unexpected("claim");
    claimed_state c;
    c.token = static_cast<std::uint64_t>(a->element[0]->integer);
    if (a->element[1]->type == REDIS_REPLY_STRING) c.bytes = std::string(a->element[1]->str, a->element[1]->len);
    return c;
  }

  result<void> save(std::string_view actor, std::string_view id, std::string_view bytes, std::uint64_t token) override {
    return fenced(save_sha_, actor, id, token, bytes);
  }

  result<void> erase(std::string_view actor, std::string_view id, std::uint64_t token) override {
    return fenced(erase_sha_, actor, id, token, {});
  }

  result<std::optional<std::string>> peek(std::string_view actor, std::string_view id) override {
    std::string const k = key(actor, id);
    auto r = command({"HGET", k, "bytes"});
    if (!r) return std::move(r).error();
    redisReply const* a = r->get();
    if (a->type == REDIS_REPLY_NIL) return std::optional<std::string>{};
    if (a->type != REDIS_REPLY_STRING) return unexpected("read");
    return std::optional<std::string>{std::string(a->str, a->len)};
  }

  std::string describe() const override { return "redis:" + url_; }

 private:
  // KEYS[1]: the state's hash. Returns {new epoch, saved bytes or nil}.
  static constexpr char const* claim_script =
      "local e = redis.call('HINCRBY', KEYS[1], 'epoch', 1) "
      "redis.call('HSET', KEYS[1], 'owner', ARGV[1]) "
      "return {e, redis.call('HGET', KEYS[1], 'bytes')}";
  // ARGV[1]: the writer's token, ARGV[2]: the bytes. Returns {1} when written, else
  // {0, stored epoch, owner}.
  static constexpr char const* save_script =
      "local e = tonumber(redis.call('HGET', KEYS[1], 'epoch') or '0') "
      "if e ~= tonumber(ARGV[1]) then return {0, e, redis.call('HGET', KEYS[1], 'owner') or ''} end "
      "redis.call('HSET', KEYS[1], 'bytes', ARGV[2]) "
      "return {1}";
  static constexpr char const* erase_script =
      "local e = tonumber(redis.call('HGET', KEYS[1], 'epoch') or '0') "
      "if e ~= tonumber(ARGV[1]) then return {0, e, redis.call('HGET', KEYS[1], 'owner') or ''} end "
      "redis.call('HDEL', KEYS[1], 'bytes') "
      "return {1}";

  struct reply_deleter {
    void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
  };
  using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

  static timeval to_timeval(std::chrono::milliseconds ms) {
    timeval tv{};
    tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms.count() / 1000);
    tv.tv_usec = static_cast<decltype(tv.tv_usec)>((ms.count() % 1000) * 1000);
    return tv;
  }

  void parse_url() {
    std::string_view u = url_;
    for (std::string_view scheme : {"tcp://", "redis://"})
      if (u.substr(0, scheme.size()) == scheme) u.remove_prefix(scheme.size());
    auto const colon = u.rfind(':');
    std::string_view port = colon == std::string_view::npos ? std::string_view("6379") : u.substr(colon + 1);
    host_ = std::string(colon == std::string_view::npos ? u : u.substr(0, colon));
    char* end = nullptr;
    std::string const p(port);
    long const n = std::strtol(p.c_str(), &end, 10);
    if (host_.empty() || p.empty() || *end != '\0' || n <= 0 || n > 65535)
      throw mesh::exception(fail(errc::invalid_argument, "redis state store url '" + url_ +
                                                             "' is not tcp://host:port (or redis://host:port)"));
    port_ = static_cast<int>(n);
  }

  /// (Re)connects and loads the scripts. Caller holds m_.
  result<void> connect() {
    disconnect();
    ctx_ = redisConnectWithTimeout(host_.c_str(), port_, to_timeval(opts_.connect_timeout));
    if (!ctx_ || ctx_->err) {
      std::string why = ctx_ ? ctx_->errstr : "out of memory";
      disconnect();
      return fail(errc::store_failed, "cannot connect to redis state store " + url_ + ": " + why);
    }
    redisSetTimeout(ctx_, to_timeval(opts_.command_timeout));
    for (auto [script, sha] : {std::pair{claim_script, &claim_sha_}, {save_script, &save_sha_}, {erase_script, &erase_sha_}}) {
      auto r = raw({"SCRIPT", "LOAD", script});
      if (!r) return std::move(r).error();
      if ((*r)->type != REDIS_REPLY_STRING) return unexpected("SCRIPT LOAD");
      *sha = std::string((*r)->str, (*r)->len);
    }
    return {};
  }
  void disconnect() noexcept {
    if (ctx_) redisFree(ctx_);
    ctx_ = nullptr;
  }

  /// One command on the current connection; an I/O error (or timeout) closes it. Caller holds m_.
  result<reply_ptr> raw(std::vector<std::string_view> const& args) {
    if (!ctx_) return fail(errc::store_failed, "redis state store " + url_ + " is not connected");
    std::vector<char const*> argv;
    std::vector<std::size_t> lens;
    for (auto a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    reply_ptr r(static_cast<redisReply*>(redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data())));
    if (!r) {
      std::string why = ctx_->errstr;
      disconnect();  // the connection is unusable after an I/O error: reconnect next time
      return fail(errc::store_failed, "redis state store " + url_ + ": " + why);
    }
    if (r->type == REDIS_REPLY_ERROR) return fail(errc::store_failed, "redis state store " + url_ + " answered: " + std::string(r->str, r->len));
    return r;
  }

  /// A command, reconnecting once when the connection is down or breaks: the scripts are
  /// idempotent for a given token, and a repeated claim only raises the epoch once more.
  result<reply_ptr> command(std::vector<std::string_view> const& args) {
    std::lock_guard lk(m_);
    if (!ctx_) {
      if (auto ok = connect(); !ok) return std::move(ok).error();
    }
    auto r = raw(args);
    if (r || ctx_) return r;
    if (auto ok = connect(); !ok) return std::move(ok).error();
    return raw(args);
  }

  /// EVALSHA of a loaded script (`sha_ref` is one of the *_sha_ members) on key `k`.
  result<reply_ptr> run(std::string const& sha_ref, std::string const& k, std::vector<std::string_view> const& argv) {
    std::vector<std::string_view> args{"EVALSHA", "", "1", k};
    args.insert(args.end(), argv.begin(), argv.end());
    for (int attempt = 0;; ++attempt) {
      std::string sha;
      {
        std::lock_guard lk(m_);
        sha = sha_ref;  // reloaded by connect()
      }
      args[1] = sha;
      auto r = command(args);
      // A server restarted without persistence forgets the scripts: reload them once.
      if (!r && attempt == 0 && r.error().message.find("NOSCRIPT") != std::string::npos) {
        std::lock_guard lk(m_);
        if (auto ok = connect(); !ok) return std::move(ok).error();
        continue;
      }
      return r;
    }
  }

  result<void> fenced(std::string const& sha, std::string_view actor, std::string_view id, std::uint64_t token,
                      std::string_view bytes) {
    std::string const t = std::to_string(token);
    auto r = run(sha, key(actor, id), {t, bytes});
    if (!r) return std::move(r).error();
    redisReply const* a = r->get();
    if (a->type != REDIS_REPLY_ARRAY || a->elements < 1 || a->element[0]->type != REDIS_REPLY_INTEGER)
      return unexpected("save");
    if (a->element[0]->integer == 1) return {};
    if (a->elements != 3 || a->element[1]->type != REDIS_REPLY_INTEGER || a->element[2]->type != REDIS_REPLY_STRING)
      return unexpected("save");
    std::string owner(a->element[2]->str, a->element[2]->len);
    return mesh::detail::fenced_write(actor, id, token, static_cast<std::uint64_t>(a->element[1]->integer),
                                      owner.empty() ? std::string("(none: never claimed)") : owner);
  }

  std::string key(std::string_view actor, std::string_view id) const {
    // The actor name's length first: no (actor, id) pair can spell another's key.
    return opts_.key_prefix + std::to_string(actor.size()) + ":" + std::string(actor) + ":" + std::string(id);
  }

  [[gnu::cold]] error unexpected(char const* what) const {
    return fail(errc::store_failed, std::string(what) + " in redis state store " + url_ + ": unexpected answer");
  }

  std::string url_;
  redis_options opts_;
  std::string host_;
  int port_ = 6379;
  std::mutex m_;
  redisContext* ctx_ = nullptr;
  std::string claim_sha_, save_sha_, erase_sha_;
};

}  // namespace detail

/// A state store in the Redis server at `url` ("tcp://host:port" or "redis://host:port"), for
/// clusters that span machines. Connects at once: throws mesh::exception (errc::store_failed when
/// the server cannot be reached, errc::invalid_argument for a bad url), since no value can be
/// returned there; later connection losses are errors of the calls that meet them, and the next
/// call reconnects. Thread-safe. Durability is the server's (appendonly, docs/state.md).
inline std::shared_ptr<mesh::store> redis(std::string url, redis_options options = {}) {
  return std::make_shared<detail::redis_store>(std::move(url), std::move(options));
}

}  // namespace mesh::stores
