// Renders what the inventory observed of one service as an OpenAPI 3.0
// document, for `rampartctl apis --openapi`: one path per template, one
// operation per method, path parameters typed by the values seen (integer
// for numbers; string, format uuid, for UUIDs; string otherwise), the query
// parameter names seen, the status codes and media types seen. What is not
// standard OpenAPI goes under `x-rampart` (requests, first and last seen,
// auth schemes, sizes, sensitive data types, spec status).
//
// The output loads back with OpenApiSpec::Parse (tests/apis check that every
// observed endpoint is then documented), so an operator can start from it
// when writing the spec a service lacks.
#pragma once

#include <string>

#include "agent/apis/api_inventory.h"

namespace rampart::apis {

enum class OpenApiFormat { kYaml, kJson };

std::string RenderOpenApi(const ServiceInventory& service, OpenApiFormat format);

}  // namespace rampart::apis
