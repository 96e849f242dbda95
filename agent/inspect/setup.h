// From policy to the inspection in force: merges the inspection sections of
// a node's policies and builds the detector families they ask for. Building
// loads keys (JWKS, PEM) and compiles pattern databases, so it runs before
// anything of a new bundle is applied: a bundle whose detectors cannot be
// built is refused whole, and the last-known-good stays in force.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "agent/inspect/pipeline.h"
#include "rampart/v1/policy.pb.h"

namespace rampart::apis {
class ApiInventory;
}

namespace rampart::inspect {

// Several policies on a node: a family blocks when any of them says block,
// with the lowest minSeverity and the longest TTL among those; lists
// (detectors, key files, algorithms) are unions; numbers take the strictest.
// The apis sections merge by apis::MergeApiInspections, in policy name order.
v1::Inspection MergeInspection(const v1::PolicyBundle& bundle);

// Whether a policy's capture section selects any process (by name, unit or
// all): only such a section's directions count.
bool SelectsProcesses(const v1::CaptureSelection& capture);
// The capture sections of a node's policies together (MergeInspection's
// capture): every selection, and the directions of those that select
// processes (none listed: both), empty when none does.
v1::CaptureSelection MergeCapture(const v1::PolicyBundle& bundle);

// Errors name the policy field and what was wrong ("spec.inspection.jwt.jwks:
// /etc/rampart/jwks.json: ...").
//
// `api_inventory` is the API inventory that outlives setups (the agent's):
// on entry the one in force (may be null), on return the one the apis family
// records into: the same when its limits are those of `inspection`, else a
// new, empty one (the caller keeps it once the setup is applied). Without an
// apis section it is left alone. Null: the family gets a scratch inventory.
absl::StatusOr<InspectionSetup> BuildInspectionSetup(const v1::Inspection& inspection,
                                                     std::shared_ptr<apis::ApiInventory>* api_inventory = nullptr);

}  // namespace rampart::inspect
