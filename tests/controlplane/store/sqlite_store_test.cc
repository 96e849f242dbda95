// What SqliteStore promises beyond the Store contract: the database and the
// directories it creates are readable by their owner only, a file that is not
// a database is refused with its name, and two processes on one file (as with
// a restart that overlaps the old process) neither share a version number nor
// miss each other's writes.
#include "controlplane/store/sqlite_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tests/controlplane/temp_dir.h"

namespace rampart::cp {
namespace {

using rampart::testing::TempDir;

using namespace std::chrono_literals;

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    ADD_FAILURE() << "stat " << path << ": " << std::strerror(errno);
    return 0;
  }
  return st.st_mode & 07777;
}

// Runs `child` in a forked process and returns its exit status (0: success).
// The child touches nothing but its own SqliteStore.
template <typename Child>
pid_t Fork(Child child) {
  const pid_t pid = fork();
  if (pid == 0) _exit(child());
  return pid;
}

int Reap(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(SqliteStoreTest, OpenCreatesMissingDirectoriesAndTheFileForTheOwnerOnly) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.path() + "/var/lib/rampart-cp/store.db";

  auto store = SqliteStore::Open(path);

  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(ModeOf(dir.path() + "/var"), 0700u);
  EXPECT_EQ(ModeOf(dir.path() + "/var/lib/rampart-cp"), 0700u);
  EXPECT_EQ(ModeOf(path), 0600u);
}

TEST(SqliteStoreTest, OpenLeavesTheModeOfAnExistingDirectoryAlone) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);

  auto store = SqliteStore::Open(dir.path() + "/store.db");

  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(ModeOf(dir.path()), 0755u);
}

TEST(SqliteStoreTest, OpenOfAFileThatIsNotADatabaseFailsNamingTheFile) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.path() + "/store.db";
  std::ofstream(path) << "this is a text file, not an SQLite database, and it is long enough to have a header";

  auto store = SqliteStore::Open(path);

  ASSERT_FALSE(store.ok());
  EXPECT_NE(std::string(store.status().message()).find(path), std::string::npos) << store.status();
}

TEST(SqliteStoreTest, SeveralProcessesCreatingTheSameNewFileAtOnceAllSucceed) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  for (int round = 0; round < 5; ++round) {
    const std::string path = dir.path() + "/store-" + std::to_string(round) + ".db";
    const auto start = std::chrono::system_clock::now() + 100ms;  // all open at about the same moment
    std::vector<pid_t> children;
    for (int i = 0; i < 4; ++i) {
      const pid_t child = Fork([&] {
        std::this_thread::sleep_until(start);
        auto store = SqliteStore::Open(path);
        if (!store.ok()) {
          std::fprintf(stderr, "child: %s\n", std::string(store.status().message()).c_str());
          return 2;
        }
        return (*store)->Append({}, "child", "first write", kAnyVersion).ok() ? 0 : 3;
      });
      ASSERT_GT(child, 0) << std::strerror(errno);
      children.push_back(child);
    }
    for (pid_t child : children) EXPECT_EQ(Reap(child), 0) << "round " << round;

    auto store = SqliteStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    auto current = (*store)->Current();
    ASSERT_TRUE(current.ok()) << current.status();
    EXPECT_EQ(current->version(), 4u);
  }
}

TEST(SqliteStoreTest, AppendsFromTwoProcessesNeverShareAVersion) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.path() + "/store.db";
  ASSERT_TRUE(SqliteStore::Open(path).ok());
  constexpr int kAppendsEach = 25;

  const pid_t child = Fork([&] {
    auto store = SqliteStore::Open(path);
    if (!store.ok()) return 2;
    for (int i = 0; i < kAppendsEach; ++i) {
      if (!(*store)->Append({}, "child", "from the child", kAnyVersion).ok()) return 3;
    }
    return 0;
  });
  ASSERT_GT(child, 0) << std::strerror(errno);
  auto store = SqliteStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  for (int i = 0; i < kAppendsEach; ++i) {
    auto appended = (*store)->Append({}, "parent", "from the parent", kAnyVersion);
    ASSERT_TRUE(appended.ok()) << appended.status();
  }
  ASSERT_EQ(Reap(child), 0);

  std::map<std::string, int> by_author;
  for (uint64_t version = 1; version <= 2 * kAppendsEach; ++version) {
    auto stored = (*store)->Get(version);
    ASSERT_TRUE(stored.ok()) << "version " << version << ": " << stored.status();
    ++by_author[stored->author()];
  }
  EXPECT_EQ(by_author, (std::map<std::string, int>{{"child", kAppendsEach}, {"parent", kAppendsEach}}));
  auto current = (*store)->Current();
  ASSERT_TRUE(current.ok()) << current.status();
  EXPECT_EQ(current->version(), 2u * kAppendsEach);
}

TEST(SqliteStoreTest, WaitForVersionAfterSeesAnotherProcessesAppend) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.path() + "/store.db";
  auto store = SqliteStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();

  const auto start = std::chrono::steady_clock::now();
  const pid_t child = Fork([&] {
    std::this_thread::sleep_for(300ms);
    auto other = SqliteStore::Open(path);
    if (!other.ok()) return 2;
    return (*other)->Append({}, "child", "from another process", 0).ok() ? 0 : 3;
  });
  ASSERT_GT(child, 0) << std::strerror(errno);
  absl::StatusOr<uint64_t> seen = (*store)->WaitForVersionAfter(0, 20s);
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(Reap(child), 0);

  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(*seen, 1u);
  EXPECT_LT(waited, 2s) << "another process's append was not noticed promptly";
}

}  // namespace
}  // namespace rampart::cp
