#include "kernel_tests/datapath/datapath_fixture.h"

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include <google/protobuf/util/json_util.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/datapath/bpffs.h"
#include "agent/datapath/cgroups.h"
#include "agent/policy/loader.h"
#include "agent/policy/validate.h"
#include "kernel_tests/fixtures/kernel_env.h"

namespace rampart::testing {

using namespace std::chrono_literals;

namespace {

constexpr char kServerMac[] = "02:77:00:00:00:01";
constexpr char kClientMac[] = "02:77:00:00:00:02";

void MustShell(const std::string& command) {
  if (Shell(command) != 0) throw std::runtime_error("command failed: " + command);
}

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// libbpf prints the kernel's "Exclusivity flag on, cannot modify" each time
// the datapath finds its clsact qdisc already there (EEXIST, which it
// expects); with a thousand policy flips that drowns the test log.
int QuietLibbpf(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[1024];
  vsnprintf(line, sizeof(line), format, args);
  if (std::strstr(line, "Exclusivity flag on") != nullptr) return 0;
  return fputs(line, stderr);
}

}  // namespace

std::string ShellQuote(const std::string& word) {
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

google::protobuf::Struct ParseJson(const std::string& text) {
  google::protobuf::Struct out;
  auto parsed = google::protobuf::util::JsonStringToMessage(text, &out);
  EXPECT_TRUE(parsed.ok()) << "not JSON: \"" << text << "\"";
  return out;
}

double Number(const google::protobuf::Struct& json, const std::string& key) {
  auto it = json.fields().find(key);
  EXPECT_TRUE(it != json.fields().end()) << "no \"" << key << "\" in " << json.ShortDebugString();
  return it == json.fields().end() ? 0 : it->second.number_value();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string PolicyYaml(const std::string& name, const std::string& spec) {
  std::string out = "apiVersion: rampart/v1\nkind: Policy\nmetadata: {name: " + name + "}\nspec:\n";
  std::istringstream lines(spec);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) out += "  " + line + "\n";
  }
  return out;
}

void DatapathNetTest::SetUp() {
  RAMPART_REQUIRE_KERNEL_OR_SKIP();
  previous_print_ = reinterpret_cast<void*>(libbpf_set_print(QuietLibbpf));
  char tmpl[] = "/tmp/rampart-dp-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  dir_ = tmpl;
  server_ = std::make_unique<NetNs>(UniqueName("rpds"));
  client_ = std::make_unique<NetNs>(UniqueName("rpdc"));
  server_if_ = UniqueName("rpvs");
  client_if_ = UniqueName("rpvc");
  const bool v6 = WithIpv6();
  veth_ = std::make_unique<VethPair>(
      VethEnd{server_.get(), server_if_, std::string(kServer4) + "/24", v6 ? std::string(kServer6) + "/64" : ""},
      VethEnd{client_.get(), client_if_, std::string(kClient4) + "/24", v6 ? std::string(kClient6) + "/64" : ""});
  const std::string in_server = server_->Exec(), in_client = client_->Exec();
  MustShell(in_server + "ip link set dev " + server_if_ + " address " + kServerMac);
  MustShell(in_client + "ip link set dev " + client_if_ + " address " + kClientMac);
  MustShell(in_client + "ip addr add " + kOther4 + "/24 dev " + client_if_);
  std::vector<std::string> client_addrs = {kClient4, kOther4}, server_addrs = {kServer4};
  if (v6) {
    MustShell(in_client + "ip -6 addr add " + kOther6 + "/64 dev " + client_if_ + " nodad");
    client_addrs.insert(client_addrs.end(), {kClient6, kOther6});
    server_addrs.push_back(kServer6);
  }
  for (const auto& a : client_addrs) {
    MustShell(in_server + "ip neigh replace " + a + " lladdr " + kClientMac + " dev " + server_if_ + " nud permanent");
  }
  for (const auto& a : server_addrs) {
    MustShell(in_client + "ip neigh replace " + a + " lladdr " + kServerMac + " dev " + client_if_ + " nud permanent");
  }

  // The test process itself runs in the server namespace: the datapath
  // attaches to the interfaces of the namespace its caller is in.
  original_netns_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(original_netns_, 0) << strerror(errno);
  int target = open(server_->Path().c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(target, 0) << server_->Path() << ": " << strerror(errno);
  int entered = setns(target, CLONE_NEWNET);
  close(target);
  ASSERT_EQ(entered, 0) << "setns " << server_->Path() << ": " << strerror(errno);
}

void DatapathNetTest::TearDown() {
  children_.clear();  // SIGTERM, then SIGKILL, each by PID
  datapath_.reset();
  if (!pin_dir_.empty()) {
    if (absl::Status st = datapath::RemovePinDir(pin_dir_); !st.ok()) ADD_FAILURE() << st;
  }
  if (original_netns_ >= 0) {
    if (setns(original_netns_, CLONE_NEWNET) != 0) ADD_FAILURE() << "restore netns: " << strerror(errno);
    close(original_netns_);
    original_netns_ = -1;
  }
  veth_.reset();
  client_.reset();
  server_.reset();
  if (previous_print_) libbpf_set_print(reinterpret_cast<libbpf_print_fn_t>(previous_print_));
  if (!dir_.empty()) {
    if (HasFailure()) {
      std::cerr << "kept " << dir_ << " for inspection\n";
    } else {
      std::filesystem::remove_all(dir_);
    }
  }
}

void DatapathNetTest::OpenDatapath(datapath::DatapathOptions options) {
  pin_dir_ = "/sys/fs/bpf/" + UniqueName("rampart-d");
  options.pin_dir = pin_dir_;
  auto opened = datapath::Datapath::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  datapath_ = std::move(*opened);
}

policy::CompiledPolicy DatapathNetTest::Compile(const std::string& yaml, uint64_t version) {
  const std::string text = ReplaceAll(yaml, "SERVER_IF", server_if_);
  auto policies = policy::ParsePolicyYaml(text, "test.yaml");
  EXPECT_TRUE(policies.ok()) << policies.status() << "\n" << text;
  if (!policies.ok()) return {};
  absl::Status valid = policy::ValidatePolicySet(*policies);
  EXPECT_TRUE(valid.ok()) << valid << "\n" << text;
  v1::PolicyBundle bundle;
  bundle.set_version(version);
  for (const auto& p : *policies) *bundle.add_policies() = p;
  auto compiled = policy::CompilePolicy(bundle, {}, datapath::ResolveCgroup);
  EXPECT_TRUE(compiled.ok()) << compiled.status() << "\n" << text;
  return compiled.ok() ? *compiled : policy::CompiledPolicy{};
}

void DatapathNetTest::Apply(const std::string& yaml, uint64_t version) {
  ASSERT_NE(datapath_, nullptr) << "OpenDatapath first";
  policy::CompiledPolicy compiled = Compile(yaml, version);
  ASSERT_FALSE(HasFailure());
  absl::Status applied = datapath_->Apply(compiled);
  ASSERT_TRUE(applied.ok()) << applied;
}

std::map<std::string, uint64_t> DatapathNetTest::Counters() {
  std::map<std::string, uint64_t> out;
  if (!datapath_) return out;
  auto counters = datapath_->ReadCounters();
  EXPECT_TRUE(counters.ok()) << counters.status();
  if (!counters.ok()) return out;
  for (const auto& r : counters->by_reason()) out[r.direction() + " " + r.reason()] = r.packets();
  for (const auto& r : counters->by_rule()) out["rule " + r.direction() + "/" + r.rule()] = r.packets();
  for (const auto& e : counters->errors()) out["error " + e.error()] = e.count();
  return out;
}

std::string DatapathNetTest::Python() const {
  return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

std::string DatapathNetTest::Tool() const { return std::string(RAMPART_SOURCE_DIR) + "/kernel_tests/datapath/nettool.py"; }

ChildProcess& DatapathNetTest::Start(const NetNs& ns, const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> argv = {"nsenter", "--net=" + ns.Path(), Python(), Tool()};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string path = dir_ + "/" + log + ".log";
  logs_.push_back(path);
  children_.push_back(std::make_unique<ChildProcess>(argv, path));
  return *children_.back();
}

std::string DatapathNetTest::Run(const NetNs& ns, const std::vector<std::string>& args) {
  std::string command = "timeout 120 nsenter --net=" + ns.Path() + " " + Python() + " " + ShellQuote(Tool());
  for (const auto& a : args) command += " " + ShellQuote(a);
  return Capture(command + " 2>>" + dir_ + "/run.log");
}

std::string DatapathNetTest::Serve(const NetNs& ns, const std::vector<int>& tcp, const std::vector<int>& udp,
                                   const std::string& name, bool echo) {
  const std::string ready = dir_ + "/" + name + ".ready", log = dir_ + "/" + name + ".udp";
  std::vector<std::string> args = {"serve", "--ready", ready, "--log", log};
  if (echo) args.push_back("--echo");
  if (!tcp.empty()) {
    args.push_back("--tcp");
    for (int p : tcp) args.push_back(std::to_string(p));
  }
  if (!udp.empty()) {
    args.push_back("--udp");
    for (int p : udp) args.push_back(std::to_string(p));
  }
  Start(ns, args, name);
  EXPECT_TRUE(WaitFor([&] { return std::filesystem::exists(ready); }, 10s)) << name << " never listened" << Logs();
  return log;
}

std::map<std::string, std::string> DatapathNetTest::Probe(const NetNs& ns, const std::vector<std::string>& specs,
                                                          double timeout_s) {
  std::vector<std::string> args = {"probe", "--timeout", std::to_string(timeout_s)};
  args.insert(args.end(), specs.begin(), specs.end());
  std::istringstream out(Run(ns, args));
  std::map<std::string, std::string> results;
  for (std::string line; std::getline(out, line);) {
    const auto space = line.find(' ');
    if (space != std::string::npos) results[line.substr(0, space)] = line.substr(space + 1);
  }
  for (const auto& spec : specs) {
    if (!results.contains(spec)) results[spec] = "fail: no result (probe crashed?)";
  }
  return results;
}

size_t DatapathNetTest::CountLogLines(const std::string& log, const std::string& prefix) {
  std::ifstream in(log);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) ++n;
  }
  return n;
}

std::string DatapathNetTest::Logs() const {
  std::string out;
  for (const auto& path : logs_) out += "\n--- " + path + "\n" + Capture("tail -15 " + path + " 2>/dev/null");
  out += "\n--- run.log\n" + Capture("tail -15 " + dir_ + "/run.log 2>/dev/null");
  return out;
}

}  // namespace rampart::testing
