// Keeps the node's certificate fresh: at about half its lifetime (with
// jitter, so a fleet enrolled together does not renew together) a new key and
// CSR go to Enrollment.Renew over mutual TLS with the current certificate, and
// the result replaces node.pem with one rename. Connections pick it up through
// gRPC's file watcher (agent/sync/control_plane_client.h); nothing restarts.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/enroll/join.h"

namespace rampart::enroll {

struct RenewOptions {
  // Control-plane replicas, HOST:PORT each: renewal goes to the first that
  // answers (any replica of the fleet can renew).
  std::vector<std::string> addresses;
  std::string server_name;  // empty: the host of each address
  std::string state_dir;    // holds ca.pem and node.pem (IdentityFiles)
  std::chrono::milliseconds timeout = std::chrono::seconds(15);
};

// One renewal, now, at the first address that answers; an address that does
// not answer (UNAVAILABLE, DEADLINE_EXCEEDED) costs up to `timeout` before the
// next is tried. FailedPrecondition when the current certificate has already
// expired (it cannot authenticate any more: the node must join again); the
// control plane's refusals (revoked node) come back with its message.
absl::StatusOr<Enrolled> RenewIdentity(const RenewOptions& options);

// When to renew a certificate valid over [not_before, not_after]: at
// `fraction` of its lifetime, moved by `jitter_sample` (in [-1, 1]) times
// `jitter` of that point. RenewalTime(b, a, 0.5, 0.1, s) lies in 45%..55%.
x509::TimePoint RenewalTime(x509::TimePoint not_before, x509::TimePoint not_after, double fraction, double jitter,
                            double jitter_sample);

struct RenewerOptions {
  RenewOptions renew;
  double fraction = 0.5;
  double jitter = 0.1;
  // After a failure: the first retry delay, doubled per failure up to max.
  std::chrono::milliseconds min_retry = std::chrono::seconds(1);
  std::chrono::milliseconds max_retry = std::chrono::minutes(5);
};

// Renews on its own thread until stopped.
class CertificateRenewer {
 public:
  explicit CertificateRenewer(RenewerOptions options);
  ~CertificateRenewer();
  CertificateRenewer(const CertificateRenewer&) = delete;
  CertificateRenewer& operator=(const CertificateRenewer&) = delete;

  void Start();
  void Stop();

  struct State {
    std::string serial_hex;  // the certificate in node.pem
    x509::TimePoint not_after;
    x509::TimePoint next_attempt;
    uint64_t renewals = 0;
    std::string last_error;  // empty after a success
  };
  State Snapshot() const;

 private:
  void Run();
  // Sleeps until `when` or Stop; false when stopping.
  bool WaitUntil(x509::TimePoint when);

  const RenewerOptions options_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  State state_;
  std::thread thread_;
};

}  // namespace rampart::enroll
