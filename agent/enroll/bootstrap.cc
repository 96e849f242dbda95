#include "agent/enroll/bootstrap.h"

#include <filesystem>

#include "agent/common/strings.h"
#include "agent/enroll/join_token.h"
#include "agent/enroll/node_identity.h"

namespace rampart::enroll {

absl::StatusOr<Bootstrapped> EnsureJoined(const JoinOptions& options) {
  Bootstrapped out;
  out.files = IdentityFiles::In(options.state_dir);
  out.address = options.address;
  std::string token_address;
  if (!options.token.empty()) {
    auto token = identity::JoinToken::Parse(options.token);
    if (!token.ok()) return absl::InvalidArgumentError(rampart::StrCat("--join: ", token.status().message()));
    token_address = token->address;
  }
  if (out.address.empty()) out.address = token_address;
  if (out.address.empty()) {
    return absl::InvalidArgumentError(
        "no control plane address: give --control-plane HOST:PORT, or a join token that ends in @HOST:PORT");
  }

  std::error_code ec;
  if (std::filesystem::exists(out.files.identity_file, ec)) {
    auto stored = LoadNodeIdentity(out.files);
    if (!stored.ok()) return stored.status();
    const std::string expected = rampart::StrCat("/agent/", options.node_name);
    if (stored->spiffe_id.size() < expected.size() ||
        stored->spiffe_id.compare(stored->spiffe_id.size() - expected.size(), expected.size(), expected) != 0) {
      return absl::FailedPreconditionError(rampart::StrCat(
          out.files.identity_file, " is for ", stored->spiffe_id, ", not node \"", options.node_name,
          "\": start with --node-name matching it, or remove it and join again with a new token"));
    }
    out.spiffe_id = stored->spiffe_id;
    return out;
  }
  if (options.token.empty()) {
    return absl::InvalidArgumentError(rampart::StrCat("no node identity in ", options.state_dir,
                                                      ": join the fleet once with --join TOKEN (from `rampart-cp "
                                                      "token create`), or give --ca, --cert and --key"));
  }
  JoinOptions join = options;
  join.address = out.address;
  auto enrolled = JoinFleet(join);
  if (!enrolled.ok()) return enrolled.status();
  out.joined_now = true;
  out.spiffe_id = enrolled->spiffe_id;
  return out;
}

}  // namespace rampart::enroll
