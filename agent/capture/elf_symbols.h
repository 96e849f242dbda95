// Finds functions in ELF files by symbol, as uprobes need them: TLS code is
// recognised by the symbols a file defines (SSL_write, SSL_read, ...), never
// by its file name, so statically linked binaries are found too.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace rampart::capture {

// The defined function symbols among `names` in the ELF file at `path`, with
// their file offsets (what a uprobe attaches at). Looks in .dynsym and
// .symtab; a stripped static binary has neither entry and yields none.
absl::StatusOr<std::map<std::string, uint64_t>> FindFunctions(const std::string& path,
                                                              const std::vector<std::string>& names);

}  // namespace rampart::capture
