// rampartctl's rendering of API analytics (docs/apis.md, docs/cli.md): the
// inventory table of `rampartctl apis`. (The apis lines of `status` are in
// status_view.cc, which rampart-cp compiles too.)
#pragma once

#include <string>

#include "rampart/v1/agent_api.pb.h"

namespace rampart::cli {

// One table per service: every endpoint with its traffic, auth, media types
// and where it stands against the spec; shadow and zombie endpoints marked
// (SHADOW, ZOMBIE in the SPEC column, and a "!" before the method).
std::string RenderApis(const v1::ApiInventoryReply& reply);

}  // namespace rampart::cli
