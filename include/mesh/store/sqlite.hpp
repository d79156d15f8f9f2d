#pragma once
/// mesh::stores::sqlite(path): actor states in one SQLite file, shared by the processes of one
/// host (WAL mode). Links SQLite (CMake target mesh::sqlite, or -lsqlite3); <mesh/mesh.hpp> does
/// not include this header. docs/state.md says what survives what.

#include <mesh/core/error.hpp>
#include <mesh/store/store.hpp>

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace mesh::stores {

/// Tuning of a SQLite store.
struct sqlite_options {
  /// How long a statement waits for another process's write lock before errc::store_failed.
  std::chrono::milliseconds busy_timeout{5000};
  /// false (default): PRAGMA synchronous=NORMAL, a save survives the crash of any process, and a
  /// power loss may lose the last few. true: synchronous=FULL, an fsync per save.
  bool sync_every_save = false;
};

namespace detail {

/// The SQLite store: one connection, its statements prepared once, used under a mutex (SQLite's
/// own locking then orders the processes that share the file).
class sqlite_store final : public mesh::store {
 public:
  sqlite_store(std::string path, sqlite_options const& o) : path_(std::move(path)) {
    int const rc = sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string why = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      close();
      throw mesh::exception(fail(errc::store_failed, "cannot open SQLite state store '" + path_ + "': " + why));
    }
    sqlite3_busy_timeout(db_, static_cast<int>(o.busy_timeout.count()));
    // WAL: readers never block the writer and the processes of a host share the file; the table
    // is created by whichever process comes first.
    if (auto ok = exec("PRAGMA journal_mode=WAL"); !ok) fail_open(ok.error());
    if (auto ok = exec(o.sync_every_save ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"); !ok) fail_open(ok.error());
    if (auto ok = exec("CREATE TABLE IF NOT EXISTS mesh_state (actor TEXT NOT NULL, id BLOB NOT NULL, epoch INTEGER NOT NULL, "
                       "owner TEXT NOT NULL, bytes BLOB, PRIMARY KEY (actor, id)) WITHOUT ROWID");
        !ok)
      fail_open(ok.error());
    // One statement each: an UPSERT with RETURNING is atomic on its own (its implicit transaction
    // takes the write lock before reading the epoch), so a claim needs no BEGIN ... COMMIT.
    prepare(claim_, "INSERT INTO mesh_state (actor, id, epoch, owner, bytes) VALUES (?1, ?2, 1, ?3, NULL) "
                    "ON CONFLICT (actor, id) DO UPDATE SET epoch = epoch + 1, owner = excluded.owner "
                    "RETURNING epoch, bytes");
    prepare(save_, "UPDATE mesh_state SET bytes = ?3 WHERE actor = ?1 AND id = ?2 AND epoch = ?4");
    prepare(erase_, "UPDATE mesh_state SET bytes = NULL WHERE actor = ?1 AND id = ?2 AND epoch = ?3");
    prepare(peek_, "SELECT bytes, epoch, owner FROM mesh_state WHERE actor = ?1 AND id = ?2");
  }
  ~sqlite_store() override { close(); }

  result<claimed_state> claim(std::string_view actor, std::string_view id, std::string_view owner) override {
    std::lock_guard lk(m_);
    stmt_guard g{claim_};
    bind_key(claim_, actor, id);
    sqlite3_bind_text(claim_, 3, owner.data(), static_cast<int>(owner.size()), SQLITE_TRANSIENT);
    if (int const rc = sqlite3_step(claim_); rc != SQLITE_ROW) return failed("claim", rc);
    claimed_state c;
    c.token = static_cast<std::uint64_t>(sqlite3_column_int64(claim_, 0));
    if (sqlite3_column_type(claim_, 1) != SQLITE_NULL) c.bytes = column_blob(claim_, 1);
    // Run the statement to its end: the UPSERT commits when it completes.
    if (int const rc = sqlite3_step(claim_); rc != SQLITE_DONE) return failed("claim", rc);
    return c;
  }

  result<void> save(std::string_view actor, std::string_view id, std::string_view bytes, std::uint64_t token) override {
    std::lock_guard lk(m_);
    {
      stmt_guard g{save_};
      bind_key(save_, actor, id);
      sqlite3_bind_blob64(save_, 3, bytes.data(), bytes.size(), SQLITE_STATIC);
      sqlite3_bind_int64(save_, 4, static_cast<sqlite3_int64>(token));
      if (int const rc = sqlite3_step(save_); rc != SQLITE_DONE) return failed("save", rc);
      if (sqlite3_changes(db_) == 1) return {};
    }
    return refused(actor, id, token);
  }

  result<void> erase(std::string_view actor, std::string_view id, std::uint64_t token) override {
    std::lock_guard lk(m_);
    {
      stmt_guard g{erase_};
      bind_key(erase_, actor, id);
      sqlite3_bind_int64(erase_, 3, static_cast<sqlite3_int64>(token));
      if (int const rc = sqlite3_step(erase_); rc != SQLITE_DONE) return failed("erase", rc);
      if (sqlite3_changes(db_) == 1) return {};
    }
    return refused(actor, id, token);
  }

  result<std::optional<std::string>> peek(std::string_view actor, std::string_view id) override {
    std::lock_guard lk(m_);
    stmt_guard g{peek_};
    bind_key(peek_, actor, id);
    int const rc = sqlite3_step(peek_);
    if (rc == SQLITE_DONE) return std::optional<std::string>{};
    if (rc != SQLITE_ROW) return failed("read", rc);
    if (sqlite3_column_type(peek_, 0) == SQLITE_NULL) return std::optional<std::string>{};
    return std::optional<std::string>{column_blob(peek_, 0)};
  }

  std::string describe() const override { return "sqlite:" + path_; }

 private:
  /// Resets a statement and drops its bindings when leaving scope (also on error paths).
  struct stmt_guard {
    sqlite3_stmt* s;
    ~stmt_guard() {
      sqlite3_reset(s);
      sqlite3_clear_bindings(s);
    }
  };

  static void bind_key(sqlite3_stmt* s, std::string_view actor, std::string_view id) {
    // SQLITE_TRANSIENT: the views need not outlive the call. Ids are blobs: any bytes are an id.
    sqlite3_bind_text(s, 1, actor.data(), static_cast<int>(actor.size()), SQLITE_TRANSIENT);
    sqlite3_bind_blob64(s, 2, id.data(), id.size(), SQLITE_TRANSIENT);
  }
  static std::string column_blob(sqlite3_stmt* s, int col) {
    auto const* p = static_cast<char const*>(sqlite3_column_blob(s, col));
    auto const n = static_cast<std::size_t>(sqlite3_column_bytes(s, col));
    return p ? std::string(p, n) : std::string();
  }

  /// The fenced refusal: who holds the key now (another statement; the mutex is held).
  result<void> refused(std::string_view actor, std::string_view id, std::uint64_t token) {
    stmt_guard g{peek_};
    bind_key(peek_, actor, id);
    if (int const rc = sqlite3_step(peek_); rc == SQLITE_ROW)
      return mesh::detail::fenced_write(actor, id, token, static_cast<std::uint64_t>(sqlite3_column_int64(peek_, 1)),
                                        reinterpret_cast<char const*>(sqlite3_column_text(peek_, 2)));
    return mesh::detail::fenced_write(actor, id, token, 0, "(none: never claimed)");
  }

  [[gnu::cold]] error failed(char const* what, int rc) const {
    return fail(errc::store_failed, std::string(what) + " in SQLite state store '" + path_ + "' failed: " + sqlite3_errstr(rc) +
                                        " (" + sqlite3_errmsg(db_) + ")");
  }

  result<void> exec(char const* sql) {
    char* msg = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) == SQLITE_OK) return {};
    std::string why = msg ? msg : sqlite3_errmsg(db_);
    sqlite3_free(msg);
    return fail(errc::store_failed, std::string(sql) + ": " + why);
  }
  void prepare(sqlite3_stmt*& s, char const* sql) {
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
      fail_open(fail(errc::store_failed, sqlite3_errmsg(db_)));
  }
  [[noreturn]] void fail_open(error const& e) {
    std::string const text = "cannot use SQLite state store '" + path_ + "': " + e.message;
    close();
    throw mesh::exception(fail(errc::store_failed, text));
  }
  void close() noexcept {
    for (auto* s : {claim_, save_, erase_, peek_})
      if (s) sqlite3_finalize(s);
    claim_ = save_ = erase_ = peek_ = nullptr;
    if (db_) sqlite3_close_v2(db_);
    db_ = nullptr;
  }

  std::string path_;
  std::mutex m_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* claim_ = nullptr;
  sqlite3_stmt* save_ = nullptr;
  sqlite3_stmt* erase_ = nullptr;
  sqlite3_stmt* peek_ = nullptr;
};

}  // namespace detail

/// A state store in the SQLite file at `path` (created when missing), shared by every process of
/// the host that opens the same path (WAL mode; SQLite's locks order their writes). Throws
/// mesh::exception (errc::store_failed) when the file cannot be opened or set up: no value can be
/// returned there. Thread-safe.
inline std::shared_ptr<mesh::store> sqlite(std::string path, sqlite_options const& options = {}) {
  return std::make_shared<detail::sqlite_store>(std::move(path), options);
}

}  // namespace mesh::stores
