#include "controlplane/store/file_store.h"

#include <errno.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "agent/common/errors.h"
#include "agent/common/files.h"
#include "agent/common/strings.h"

namespace rampart::cp {

absl::StatusOr<std::unique_ptr<FileStore>> FileStore::Open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return ErrnoError(ec.value(), "create store directory " + dir);
  chmod(dir.c_str(), 0700);
  return std::unique_ptr<FileStore>(new FileStore(dir));
}

std::string FileStore::VersionPath(uint64_t version) const {
  char name[64];
  std::snprintf(name, sizeof(name), "/policy-v%08llu.pb", static_cast<unsigned long long>(version));
  return dir_ + name;
}

absl::StatusOr<v1::PolicyVersion> FileStore::Current() {
  std::lock_guard lock(mu_);
  return CurrentLocked();
}

absl::StatusOr<v1::PolicyVersion> FileStore::CurrentLocked() {
  uint64_t newest = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    unsigned long long version = 0;
    if (std::sscanf(entry.path().filename().c_str(), "policy-v%llu.pb", &version) == 1 && version > newest) {
      newest = version;
    }
  }
  if (ec) return ErrnoError(ec.value(), "list store directory " + dir_);
  v1::PolicyVersion current;
  if (newest == 0) return current;
  auto content = ReadFile(VersionPath(newest));
  if (!content.ok()) return content.status();
  if (!current.ParseFromString(*content)) {
    return absl::DataLossError(rampart::StrCat(VersionPath(newest), ": not a stored policy version"));
  }
  return current;
}

absl::StatusOr<v1::PolicyVersion> FileStore::Append(const std::vector<v1::Policy>& policies,
                                                    const std::string& author, const std::string& message) {
  std::lock_guard lock(mu_);  // read-then-write: one Append at a time
  auto current = CurrentLocked();
  if (!current.ok()) return current.status();
  v1::PolicyVersion next;
  next.set_version(current->version() + 1);
  for (const auto& p : policies) *next.add_policies() = p;
  next.set_author(author);
  next.set_message(message);
  next.set_created_unix_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count());
  if (absl::Status st = WriteFileAtomic(VersionPath(next.version()), next.SerializeAsString(), 0600); !st.ok()) {
    return st;
  }
  return next;
}

}  // namespace rampart::cp
