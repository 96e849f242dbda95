// The control plane's store in one SQLite file: the default for a single
// rampart-cp (state dir /var/lib/rampart-cp/store.db). WAL mode, and every write
// is one BEGIN IMMEDIATE transaction, so two processes on the same file still
// number versions without gaps and consume a join token at most once.
//
// Waiters see writes from this process at once (a condition variable) and
// writes from another process within kPollInterval (a cheap query of the
// newest version, made by one waiter for all of them).
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "controlplane/store/store.h"

struct sqlite3;

namespace rampart::cp {

class SqliteStore final : public Store {
 public:
  // How often WaitForVersionAfter looks for another process's writes.
  static constexpr std::chrono::milliseconds kPollInterval{50};
  // How long a statement waits for another process's write lock before failing.
  static constexpr std::chrono::milliseconds kBusyTimeout{5000};

  // Opens or creates the database at `path`. Missing parent directories are
  // created 0700, a new file 0600. Creates the schema when missing.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& path);
  ~SqliteStore() override;

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  absl::StatusOr<v1::PolicyVersion> Current() override;
  absl::StatusOr<v1::PolicyVersion> Get(uint64_t version) override;
  absl::StatusOr<std::vector<v1::PolicyVersion>> History(size_t limit) override;
  absl::StatusOr<v1::PolicyVersion> Append(const std::vector<v1::Policy>& policies, const std::string& author,
                                           const std::string& message, uint64_t expected_version) override;
  absl::StatusOr<uint64_t> WaitForVersionAfter(uint64_t seen, std::chrono::milliseconds timeout) override;

  absl::Status PutJoinToken(const v1::JoinTokenRecord& token) override;
  absl::StatusOr<v1::JoinTokenRecord> ConsumeJoinToken(const std::string& id, const std::string& node,
                                                       int64_t now_unix_ms) override;
  absl::StatusOr<v1::JoinTokenRecord> GetJoinToken(const std::string& id) override;
  absl::StatusOr<std::vector<v1::JoinTokenRecord>> JoinTokens() override;

  absl::Status PutNode(const v1::NodeRecord& node) override;
  absl::StatusOr<v1::NodeRecord> GetNode(const std::string& name) override;
  absl::StatusOr<std::vector<v1::NodeRecord>> Nodes() override;

  absl::Status KeepReplicaAlive(const v1::ReplicaRecord& replica, std::chrono::seconds ttl) override;
  absl::StatusOr<std::vector<v1::ReplicaRecord>> LiveReplicas() override;

 private:
  SqliteStore(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}

  // All *Locked functions need mu_ held.
  absl::StatusOr<uint64_t> NewestVersionLocked();
  absl::StatusOr<v1::PolicyVersion> GetLocked(uint64_t version);

  const std::string path_;
  std::mutex mu_;  // one connection, one statement at a time
  sqlite3* const db_;
  std::condition_variable appended_;  // newest_ grew
  // The newest version this store has written or read, and when a waiter last
  // read it from the file (guarded by mu_).
  uint64_t newest_ = 0;
  std::chrono::steady_clock::time_point last_poll_;
};

}  // namespace rampart::cp
