// FindFunctions recognises TLS code by the symbols a file defines.
#include "agent/capture/elf_symbols.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>

#include "agent/capture/process_scan.h"
#include "agent/capture/ssl_capture_probe.h"

namespace rampart::capture {
namespace {

// The system's libssl, found the way the agent finds it: among this test's own mappings
// would need it loaded, so look where Debian installs it.
std::string SystemLibssl() {
  for (const char* path : {"/usr/lib/x86_64-linux-gnu/libssl.so.3", "/usr/lib/aarch64-linux-gnu/libssl.so.3"}) {
    if (std::filesystem::exists(path)) return path;
  }
  return "";
}

TEST(ElfSymbolsTest, LibsslDefinesEveryProbedFunctionAtDistinctOffsets) {
  const std::string libssl = SystemLibssl();
  ASSERT_FALSE(libssl.empty()) << "libssl.so.3 not installed (libssl-dev pulls it in)";
  auto found = FindFunctions(libssl, kSslFunctions);
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->size(), kSslFunctions.size());
  std::set<uint64_t> offsets;
  for (const auto& [name, offset] : *found) {
    EXPECT_GT(offset, 0u) << name;
    offsets.insert(offset);
  }
  EXPECT_EQ(offsets.size(), kSslFunctions.size());
}

TEST(ElfSymbolsTest, AFileWithoutTlsCodeDefinesNone) {
  auto found = FindFunctions("/bin/sh", kSslFunctions);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_TRUE(found->empty());
}

TEST(ElfSymbolsTest, ImportsAreNotDefinitions) {
  // curl and python import SSL_* from libssl (undefined symbols): not TLS code themselves.
  auto found = FindFunctions("/usr/lib/x86_64-linux-gnu/libcurl.so.4", kSslFunctions);
  if (!found.ok()) GTEST_SKIP() << "libcurl not installed";
  EXPECT_TRUE(found->empty());
}

TEST(ElfSymbolsTest, NonElfAndMissingFilesAreErrorsNamingThePath) {
  const std::string text = ::testing::TempDir() + "/not-elf.txt";
  std::ofstream(text) << "hello";
  auto not_elf = FindFunctions(text, kSslFunctions);
  EXPECT_FALSE(not_elf.ok());
  EXPECT_NE(std::string(not_elf.status().message()).find(text), std::string::npos);
  auto missing = FindFunctions("/nonexistent/libssl.so", kSslFunctions);
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(std::string(missing.status().message()).find("/nonexistent/libssl.so"), std::string::npos);
}

TEST(ProcessScanTest, OwnMappingsIncludeThisExecutableByDeviceAndInode) {
  auto files = ExecutableMappings(getpid());
  ASSERT_FALSE(files.empty());
  bool self = false;
  for (const auto& f : files) {
    EXPECT_NE(f.inode, 0u);
    if (std::filesystem::equivalent(f.host_path, "/proc/self/exe")) self = true;
  }
  EXPECT_TRUE(self);
}

}  // namespace
}  // namespace rampart::capture
