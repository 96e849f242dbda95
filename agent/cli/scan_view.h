// rampartctl scan's output: "FILE:OFFSET+LENGTH severity detector where
// masked - reason", or one JSON object per finding with file, offset, length,
// detector, severity, masked_value, location and reason.
#pragma once

#include <string>

#include "agent/scan/file_scanner.h"

namespace rampart::cli {

std::string RenderScan(const scan::ScanFinding& finding);
std::string RenderScanJson(const scan::ScanFinding& finding);

}  // namespace rampart::cli
