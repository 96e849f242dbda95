// Where the control plane keeps what every replica must agree on: versioned
// policy sets, join tokens, enrolled and revoked nodes, live replicas. The store
// revision is the policy version: Append takes the version the author based the
// change on, so two operators cannot overwrite each other unknowingly.
//
// Every implementation passes the StoreContract suite
// (tests/controlplane/store/store_contract_test.cc). Implementations are thread-safe
// and every write is atomic: it happens whole or not at all.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "rampart/v1/admin.pb.h"
#include "rampart/v1/store.pb.h"

namespace rampart::cp {

// Append's expected_version when the caller does not care what it replaces.
inline constexpr uint64_t kAnyVersion = UINT64_MAX;

class Store {
 public:
  virtual ~Store() = default;

  // --- policy versions (1, 2, 3, ... with no gaps) ---
  // The newest version; version 0 and no policies when nothing was applied.
  virtual absl::StatusOr<v1::PolicyVersion> Current() = 0;
  // One stored version; NotFound when it never existed.
  virtual absl::StatusOr<v1::PolicyVersion> Get(uint64_t version) = 0;
  // Up to `limit` versions, newest first, without their policies (metadata only).
  virtual absl::StatusOr<std::vector<v1::PolicyVersion>> History(size_t limit) = 0;
  // Stores `policies` as version Current()+1, stamped with the time. Fails with
  // FailedPrecondition ("policy changed since version E: now N") when
  // expected_version is not kAnyVersion and differs from the newest version.
  virtual absl::StatusOr<v1::PolicyVersion> Append(const std::vector<v1::Policy>& policies,
                                                   const std::string& author, const std::string& message,
                                                   uint64_t expected_version) = 0;
  // Blocks until a version newer than `seen` exists (written by any replica) or
  // `timeout` passes; returns the newest version number.
  virtual absl::StatusOr<uint64_t> WaitForVersionAfter(uint64_t seen, std::chrono::milliseconds timeout) = 0;

  // --- join tokens ---
  // AlreadyExists when a token with this id exists.
  virtual absl::Status PutJoinToken(const v1::JoinTokenRecord& token) = 0;
  // Atomically marks the token used by `node` and returns it as it was before.
  // NotFound: unknown id. FailedPrecondition: already used, or expired at
  // `now_unix_ms`. Exactly one of several concurrent callers (on any replica)
  // succeeds. The caller checks the secret hash before consuming.
  virtual absl::StatusOr<v1::JoinTokenRecord> ConsumeJoinToken(const std::string& id, const std::string& node,
                                                               int64_t now_unix_ms) = 0;
  virtual absl::StatusOr<v1::JoinTokenRecord> GetJoinToken(const std::string& id) = 0;
  virtual absl::StatusOr<std::vector<v1::JoinTokenRecord>> JoinTokens() = 0;

  // --- nodes ---
  // Creates or replaces the record with this name.
  virtual absl::Status PutNode(const v1::NodeRecord& node) = 0;
  virtual absl::StatusOr<v1::NodeRecord> GetNode(const std::string& name) = 0;  // NotFound
  virtual absl::StatusOr<std::vector<v1::NodeRecord>> Nodes() = 0;             // sorted by name

  // --- replicas ---
  // Announces this replica as live for about `ttl`; call again before it runs
  // out. A replica that stops calling disappears from LiveReplicas.
  virtual absl::Status KeepReplicaAlive(const v1::ReplicaRecord& replica, std::chrono::seconds ttl) = 0;
  virtual absl::StatusOr<std::vector<v1::ReplicaRecord>> LiveReplicas() = 0;  // sorted by id
};

// The one rule of ConsumeJoinToken, shared by every store: `before` as the
// store holds it, marked used by `node` at `now_unix_ms`; FailedPrecondition
// when it was used already or has expired.
absl::StatusOr<v1::JoinTokenRecord> MarkJoinTokenUsed(const v1::JoinTokenRecord& before, const std::string& node,
                                                      int64_t now_unix_ms);

}  // namespace rampart::cp
