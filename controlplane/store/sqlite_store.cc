#include "controlplane/store/sqlite_store.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <thread>
#include <utility>

#include "agent/common/errors.h"
#include "agent/common/strings.h"

namespace rampart::cp {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS policy_versions (
  version INTEGER PRIMARY KEY,
  author TEXT NOT NULL,
  message TEXT NOT NULL,
  created_unix_ms INTEGER NOT NULL,
  record BLOB NOT NULL          -- serialized rampart.v1.PolicyVersion, policies included
);
CREATE TABLE IF NOT EXISTS join_tokens (
  id TEXT PRIMARY KEY,
  record BLOB NOT NULL          -- serialized rampart.v1.JoinTokenRecord
);
CREATE TABLE IF NOT EXISTS nodes (
  name TEXT PRIMARY KEY,
  record BLOB NOT NULL          -- serialized rampart.v1.NodeRecord
);
CREATE TABLE IF NOT EXISTS replicas (
  id TEXT PRIMARY KEY,
  expires_unix_ms INTEGER NOT NULL,
  record BLOB NOT NULL          -- serialized rampart.v1.ReplicaRecord
);
)sql";

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "sqlite PATH: WHAT: MESSAGE". Lock contention that outlasted the busy timeout
// is Unavailable (worth a retry); anything else is Internal.
absl::Status SqliteError(sqlite3* db, const std::string& path, const std::string& what) {
  const int code = sqlite3_errcode(db);
  std::string message = rampart::StrCat("sqlite ", path, ": ", what, ": ", sqlite3_errmsg(db));
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED) return absl::UnavailableError(message);
  if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) return absl::DataLossError(message);
  return absl::InternalError(message);
}

// One prepared statement; finalized when it goes out of scope.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& path, const char* sql) : db_(db), path_(path), sql_(sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      status_ = SqliteError(db, path, rampart::StrCat("prepare \"", sql, "\""));
    }
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Bindings are 1-based, as in SQL. A failed bind shows up in Step().
  Statement& Bind(int index, int64_t value) {
    Check(sqlite3_bind_int64(stmt_, index, value), "bind");
    return *this;
  }
  Statement& Bind(int index, const std::string& text) {
    Check(sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT), "bind");
    return *this;
  }
  Statement& BindBlob(int index, const std::string& bytes) {
    Check(sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT), "bind");
    return *this;
  }

  // True when a row is ready, false when the statement is done.
  absl::StatusOr<bool> Step() {
    if (!status_.ok()) return status_;
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqliteError(db_, path_, rampart::StrCat("run \"", sql_, "\""));
  }
  // Runs a statement that returns no rows.
  absl::Status Run() {
    auto row = Step();
    return row.ok() ? absl::OkStatus() : row.status();
  }

  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string Text(int column) const {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return text ? std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt_, column))) : std::string();
  }
  std::string Blob(int column) const {
    const void* blob = sqlite3_column_blob(stmt_, column);
    return blob ? std::string(static_cast<const char*>(blob), static_cast<size_t>(sqlite3_column_bytes(stmt_, column)))
                : std::string();
  }

 private:
  void Check(int rc, const char* what) {
    if (rc != SQLITE_OK && status_.ok()) status_ = SqliteError(db_, path_, rampart::StrCat(what, " \"", sql_, "\""));
  }

  sqlite3* db_;
  const std::string& path_;
  const char* sql_;
  sqlite3_stmt* stmt_ = nullptr;
  absl::Status status_;
};

// BEGIN IMMEDIATE takes the database's write lock up front (waiting up to the
// busy timeout), so a read-check-write inside it cannot interleave with another
// connection's, in this process or another. Rolled back unless committed.
class Transaction {
 public:
  static absl::StatusOr<Transaction> Begin(sqlite3* db, const std::string& path, const std::string& what) {
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return SqliteError(db, path, rampart::StrCat(what, ": begin transaction"));
    }
    return Transaction(db, path, what);
  }
  Transaction(Transaction&& other) noexcept : db_(other.db_), path_(other.path_), what_(std::move(other.what_)) {
    other.db_ = nullptr;
  }
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction() {
    if (db_ != nullptr) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }

  absl::Status Commit() {
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      // A failed COMMIT (SQLITE_BUSY) leaves the transaction open; the destructor rolls it back.
      return SqliteError(db_, path_, rampart::StrCat(what_, ": commit"));
    }
    db_ = nullptr;
    return absl::OkStatus();
  }

 private:
  Transaction(sqlite3* db, const std::string& path, std::string what) : db_(db), path_(path), what_(std::move(what)) {}

  sqlite3* db_;
  const std::string& path_;
  std::string what_;
};

template <typename Record>
absl::StatusOr<Record> ParseRecord(const std::string& bytes, const std::string& path, const std::string& what) {
  Record record;
  if (!record.ParseFromString(bytes)) {
    return absl::DataLossError(rampart::StrCat("sqlite ", path, ": ", what, ": stored record does not parse"));
  }
  return record;
}

// Creates the missing directories on the way to `dir`, each 0700. Existing
// directories keep their mode: the database may live in a shared one.
absl::Status CreateDirectories(const std::filesystem::path& dir) {
  if (dir.empty()) return absl::OkStatus();
  struct stat st {};
  if (stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return absl::FailedPreconditionError(rampart::StrCat(dir.string(), ": not a directory"));
    return absl::OkStatus();
  }
  if (dir.has_parent_path() && dir.parent_path() != dir) RAMPART_RETURN_IF_ERROR(CreateDirectories(dir.parent_path()));
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoError(errno, "create directory " + dir.string());
  chmod(dir.c_str(), 0700);  // mkdir's mode passes through the umask
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path) {
  RAMPART_RETURN_IF_ERROR(CreateDirectories(std::filesystem::path(path).parent_path()));
  // Create the file ourselves so it is 0600 from the start; sqlite gives its
  // -wal and -shm files the database file's mode.
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return ErrnoError(errno, "open store database " + path);
  close(fd);

  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK) {
    absl::Status status = db ? SqliteError(db, path, "open") : absl::ResourceExhaustedError("sqlite: out of memory");
    sqlite3_close(db);
    return status;
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(path, db));

  sqlite3_busy_timeout(db, static_cast<int>(kBusyTimeout.count()));
  // WAL: readers do not block the writer, and a commit is one fsync of the log.
  // Switching a new file to WAL can meet another process doing the same, and
  // that SQLITE_BUSY does not go through the busy handler: retry it ourselves.
  const auto give_up = std::chrono::steady_clock::now() + kBusyTimeout;
  while (sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr) != SQLITE_OK) {
    if (sqlite3_errcode(db) != SQLITE_BUSY || std::chrono::steady_clock::now() >= give_up) {
      return SqliteError(db, path, "switch to WAL mode");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (sqlite3_exec(db, "PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return SqliteError(db, path, "set synchronous=NORMAL");
  }
  auto tx = Transaction::Begin(db, path, "create schema");
  if (!tx.ok()) return tx.status();
  if (sqlite3_exec(db, kSchema, nullptr, nullptr, nullptr) != SQLITE_OK) return SqliteError(db, path, "create schema");
  RAMPART_RETURN_IF_ERROR(tx->Commit());
  return store;
}

SqliteStore::~SqliteStore() { sqlite3_close(db_); }

// --- policy versions ---

absl::StatusOr<uint64_t> SqliteStore::NewestVersionLocked() {
  Statement newest(db_, path_, "SELECT COALESCE(MAX(version), 0) FROM policy_versions");
  auto row = newest.Step();
  if (!row.ok()) return row.status();
  return static_cast<uint64_t>(newest.Int(0));
}

absl::StatusOr<v1::PolicyVersion> SqliteStore::GetLocked(uint64_t version) {
  Statement get(db_, path_, "SELECT record FROM policy_versions WHERE version = ?");
  get.Bind(1, static_cast<int64_t>(version));
  auto row = get.Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(rampart::StrCat("policy version ", version, " does not exist"));
  return ParseRecord<v1::PolicyVersion>(get.Blob(0), path_, rampart::StrCat("policy version ", version));
}

absl::StatusOr<v1::PolicyVersion> SqliteStore::Current() {
  std::lock_guard lock(mu_);
  Statement newest(db_, path_, "SELECT record FROM policy_versions ORDER BY version DESC LIMIT 1");
  auto row = newest.Step();
  if (!row.ok()) return row.status();
  if (!*row) return v1::PolicyVersion();
  return ParseRecord<v1::PolicyVersion>(newest.Blob(0), path_, "current policy version");
}

absl::StatusOr<v1::PolicyVersion> SqliteStore::Get(uint64_t version) {
  std::lock_guard lock(mu_);
  return GetLocked(version);
}

absl::StatusOr<std::vector<v1::PolicyVersion>> SqliteStore::History(size_t limit) {
  std::lock_guard lock(mu_);
  Statement history(db_, path_,
                    "SELECT version, author, message, created_unix_ms FROM policy_versions "
                    "ORDER BY version DESC LIMIT ?");
  history.Bind(1, static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX)));
  std::vector<v1::PolicyVersion> versions;
  while (true) {
    auto row = history.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    v1::PolicyVersion& version = versions.emplace_back();
    version.set_version(static_cast<uint64_t>(history.Int(0)));
    version.set_author(history.Text(1));
    version.set_message(history.Text(2));
    version.set_created_unix_ms(history.Int(3));
  }
  return versions;
}

absl::StatusOr<v1::PolicyVersion> SqliteStore::Append(const std::vector<v1::Policy>& policies,
                                                      const std::string& author, const std::string& message,
                                                      uint64_t expected_version) {
  v1::PolicyVersion next;
  {
    std::lock_guard lock(mu_);
    auto tx = Transaction::Begin(db_, path_, "append policy version");
    if (!tx.ok()) return tx.status();
    auto newest = NewestVersionLocked();
    if (!newest.ok()) return newest.status();
    if (expected_version != kAnyVersion && expected_version != *newest) {
      return absl::FailedPreconditionError(
          rampart::StrCat("policy changed since version ", expected_version, ": now ", *newest));
    }
    next.set_version(*newest + 1);
    for (const v1::Policy& policy : policies) *next.add_policies() = policy;
    next.set_author(author);
    next.set_message(message);
    next.set_created_unix_ms(NowUnixMs());
    Statement insert(db_, path_,
                     "INSERT INTO policy_versions (version, author, message, created_unix_ms, record) "
                     "VALUES (?, ?, ?, ?, ?)");
    insert.Bind(1, static_cast<int64_t>(next.version()))
        .Bind(2, author)
        .Bind(3, message)
        .Bind(4, next.created_unix_ms())
        .BindBlob(5, next.SerializeAsString());
    RAMPART_RETURN_IF_ERROR(insert.Run());
    RAMPART_RETURN_IF_ERROR(tx->Commit());
    newest_ = std::max(newest_, next.version());
  }
  appended_.notify_all();
  return next;
}

absl::StatusOr<uint64_t> SqliteStore::WaitForVersionAfter(uint64_t seen, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mu_);
  while (true) {
    // One query per interval however many waiters there are (one per agent
    // stream); the others take its answer.
    auto now = std::chrono::steady_clock::now();
    if (now - last_poll_ >= kPollInterval) {
      auto newest = NewestVersionLocked();
      if (!newest.ok()) return newest.status();
      last_poll_ = now;
      if (*newest > newest_) {
        newest_ = *newest;
        appended_.notify_all();
      }
    }
    if (newest_ > seen || now >= deadline) return newest_;
    // Woken early by an Append in this process or another waiter's poll.
    appended_.wait_for(lock, std::min<std::chrono::steady_clock::duration>(kPollInterval, deadline - now));
  }
}

// --- join tokens ---

absl::Status SqliteStore::PutJoinToken(const v1::JoinTokenRecord& token) {
  std::lock_guard lock(mu_);
  Statement insert(db_, path_, "INSERT OR IGNORE INTO join_tokens (id, record) VALUES (?, ?)");
  insert.Bind(1, token.id()).BindBlob(2, token.SerializeAsString());
  RAMPART_RETURN_IF_ERROR(insert.Run());
  if (sqlite3_changes(db_) == 0) {
    return absl::AlreadyExistsError(rampart::StrCat("join token ", token.id(), " already exists"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::JoinTokenRecord> SqliteStore::ConsumeJoinToken(const std::string& id, const std::string& node,
                                                                  int64_t now_unix_ms) {
  std::lock_guard lock(mu_);
  auto tx = Transaction::Begin(db_, path_, "consume join token " + id);
  if (!tx.ok()) return tx.status();
  Statement get(db_, path_, "SELECT record FROM join_tokens WHERE id = ?");
  get.Bind(1, id);
  auto row = get.Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(rampart::StrCat("join token ", id, " does not exist"));
  auto before = ParseRecord<v1::JoinTokenRecord>(get.Blob(0), path_, "join token " + id);
  if (!before.ok()) return before.status();
  auto used = MarkJoinTokenUsed(*before, node, now_unix_ms);
  if (!used.ok()) return used.status();
  Statement update(db_, path_, "UPDATE join_tokens SET record = ? WHERE id = ?");
  update.BindBlob(1, used->SerializeAsString()).Bind(2, id);
  RAMPART_RETURN_IF_ERROR(update.Run());
  RAMPART_RETURN_IF_ERROR(tx->Commit());
  return before;
}

absl::StatusOr<v1::JoinTokenRecord> SqliteStore::GetJoinToken(const std::string& id) {
  std::lock_guard lock(mu_);
  Statement get(db_, path_, "SELECT record FROM join_tokens WHERE id = ?");
  get.Bind(1, id);
  auto row = get.Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(rampart::StrCat("join token ", id, " does not exist"));
  return ParseRecord<v1::JoinTokenRecord>(get.Blob(0), path_, "join token " + id);
}

absl::StatusOr<std::vector<v1::JoinTokenRecord>> SqliteStore::JoinTokens() {
  std::lock_guard lock(mu_);
  Statement list(db_, path_, "SELECT id, record FROM join_tokens ORDER BY id");
  std::vector<v1::JoinTokenRecord> tokens;
  while (true) {
    auto row = list.Step();
    if (!row.ok()) return row.status();
    if (!*row) return tokens;
    auto token = ParseRecord<v1::JoinTokenRecord>(list.Blob(1), path_, "join token " + list.Text(0));
    if (!token.ok()) return token.status();
    tokens.push_back(*std::move(token));
  }
}

// --- nodes ---

absl::Status SqliteStore::PutNode(const v1::NodeRecord& node) {
  std::lock_guard lock(mu_);
  Statement put(db_, path_, "INSERT OR REPLACE INTO nodes (name, record) VALUES (?, ?)");
  put.Bind(1, node.name()).BindBlob(2, node.SerializeAsString());
  return put.Run();
}

absl::StatusOr<v1::NodeRecord> SqliteStore::GetNode(const std::string& name) {
  std::lock_guard lock(mu_);
  Statement get(db_, path_, "SELECT record FROM nodes WHERE name = ?");
  get.Bind(1, name);
  auto row = get.Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(rampart::StrCat("node ", name, " is not enrolled"));
  return ParseRecord<v1::NodeRecord>(get.Blob(0), path_, "node " + name);
}

absl::StatusOr<std::vector<v1::NodeRecord>> SqliteStore::Nodes() {
  std::lock_guard lock(mu_);
  Statement list(db_, path_, "SELECT name, record FROM nodes ORDER BY name");
  std::vector<v1::NodeRecord> nodes;
  while (true) {
    auto row = list.Step();
    if (!row.ok()) return row.status();
    if (!*row) return nodes;
    auto node = ParseRecord<v1::NodeRecord>(list.Blob(1), path_, "node " + list.Text(0));
    if (!node.ok()) return node.status();
    nodes.push_back(*std::move(node));
  }
}

// --- replicas ---

absl::Status SqliteStore::KeepReplicaAlive(const v1::ReplicaRecord& replica, std::chrono::seconds ttl) {
  std::lock_guard lock(mu_);
  const int64_t now = NowUnixMs();
  auto tx = Transaction::Begin(db_, path_, "keep replica " + replica.id() + " alive");
  if (!tx.ok()) return tx.status();
  // Expired rows of replicas that went away are swept by whoever is still alive.
  Statement sweep(db_, path_, "DELETE FROM replicas WHERE expires_unix_ms <= ?");
  sweep.Bind(1, now);
  RAMPART_RETURN_IF_ERROR(sweep.Run());
  Statement put(db_, path_, "INSERT OR REPLACE INTO replicas (id, expires_unix_ms, record) VALUES (?, ?, ?)");
  put.Bind(1, replica.id())
      .Bind(2, now + std::chrono::duration_cast<std::chrono::milliseconds>(ttl).count())
      .BindBlob(3, replica.SerializeAsString());
  RAMPART_RETURN_IF_ERROR(put.Run());
  return tx->Commit();
}

absl::StatusOr<std::vector<v1::ReplicaRecord>> SqliteStore::LiveReplicas() {
  std::lock_guard lock(mu_);
  Statement list(db_, path_, "SELECT id, record FROM replicas WHERE expires_unix_ms > ? ORDER BY id");
  list.Bind(1, NowUnixMs());
  std::vector<v1::ReplicaRecord> replicas;
  while (true) {
    auto row = list.Step();
    if (!row.ok()) return row.status();
    if (!*row) return replicas;
    auto replica = ParseRecord<v1::ReplicaRecord>(list.Blob(1), path_, "replica " + list.Text(0));
    if (!replica.ok()) return replica.status();
    replicas.push_back(*std::move(replica));
  }
}

}  // namespace rampart::cp
