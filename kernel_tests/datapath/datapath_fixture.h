// A server and a client network namespace joined by a veth pair, the test
// process itself inside the server namespace (setns, no fork), and Rampart's
// datapath loaded in-process on the server end. Traffic comes from real
// processes (kernel_tests/datapath/nettool.py) run in either namespace.
//
// Addresses: the server end has kServer4/kServer6; the client end has kClient4
// and kClient6, inside the prefixes kClientNet4/kClientNet6, plus kOther4 and
// kOther6 outside them. Neighbours are static, so no ARP or neighbour
// discovery races the tests or moves their counters.
//
// Everything is undone in TearDown, also after a failed assertion: children
// are stopped by PID, the datapath's pins removed, the original network
// namespace restored, the namespaces deleted.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/struct.pb.h>
#include <gtest/gtest.h>

#include "agent/datapath/datapath.h"
#include "agent/policy/compiler.h"
#include "kernel_tests/fixtures/netns.h"
#include "kernel_tests/fixtures/process.h"

namespace rampart::testing {

inline constexpr char kServer4[] = "10.77.0.1";
inline constexpr char kClient4[] = "10.77.0.2";
inline constexpr char kOther4[] = "10.77.0.130";  // outside kClientNet4
inline constexpr char kClientNet4[] = "10.77.0.0/25";
inline constexpr char kServer6[] = "fd00:77::1";
inline constexpr char kClient6[] = "fd00:77::2";
inline constexpr char kOther6[] = "fd00:77::1:2";  // outside kClientNet6
inline constexpr char kClientNet6[] = "fd00:77::/112";

class DatapathNetTest : public ::testing::Test {
 protected:
  // IPv6 on the veth. Off for tests that count packets exactly: IPv6 brings
  // MLD reports that the datapath would count too.
  virtual bool WithIpv6() const { return true; }

  void SetUp() override;
  void TearDown() override;

  // Opens the datapath with a fresh pin directory (removed in TearDown).
  void OpenDatapath(datapath::DatapathOptions options = {});
  // Parses, validates and compiles YAML (cgroups resolved on this host); the
  // text may say SERVER_IF for the server's interface.
  policy::CompiledPolicy Compile(const std::string& yaml, uint64_t version);
  // Compiles and applies; fails the test on an error.
  void Apply(const std::string& yaml, uint64_t version);

  // "ingress drop_default", "egress allow_rule", "rule ingress/NAME", "error ringbuf_full".
  std::map<std::string, uint64_t> Counters();
  uint64_t Counter(const std::string& name) { return Counters()[name]; }

  // nettool.py in a namespace. Start: in the background, output to
  // DIR/LOG.log. Run: waits, returns stdout (killed after 120 s).
  ChildProcess& Start(const NetNs& ns, const std::vector<std::string>& args, const std::string& log);
  std::string Run(const NetNs& ns, const std::vector<std::string>& args);
  // `serve` in a namespace; returns once it listens. UDP datagrams are
  // logged to the returned log file, and echoed when `echo`.
  std::string Serve(const NetNs& ns, const std::vector<int>& tcp, const std::vector<int>& udp,
                    const std::string& name, bool echo = true);
  // Parallel probes: SPEC is "tcp|udp,SRC,DST,PORT" (SRC "-": any). Returns
  // SPEC -> "ok" or "fail ...".
  std::map<std::string, std::string> Probe(const NetNs& ns, const std::vector<std::string>& specs,
                                           double timeout_s = 2.0);
  // Lines of a serve log that start with `prefix`.
  size_t CountLogLines(const std::string& log, const std::string& prefix);

  std::string Python() const;
  std::string Tool() const;
  std::string Logs() const;  // tails of the children's logs, for failure messages

  std::string dir_;      // scratch directory: scripts' output and logs
  std::string pin_dir_;  // "" until OpenDatapath
  std::string server_if_, client_if_;
  std::unique_ptr<NetNs> server_, client_;
  std::unique_ptr<VethPair> veth_;
  std::vector<std::unique_ptr<ChildProcess>> children_;
  std::vector<std::string> logs_;
  std::unique_ptr<datapath::Datapath> datapath_;

 private:
  int original_netns_ = -1;
  void* previous_print_ = nullptr;  // libbpf's print function before SetUp
};

// A policy document around `spec` (indented by two spaces under "spec:").
std::string PolicyYaml(const std::string& name, const std::string& spec);

// A JSON object printed by nettool.py; an empty Struct (and a test failure)
// when `text` is not one.
google::protobuf::Struct ParseJson(const std::string& text);
double Number(const google::protobuf::Struct& json, const std::string& key);
std::string ReadFile(const std::string& path);

// Single-quoted for /bin/sh.
std::string ShellQuote(const std::string& word);

}  // namespace rampart::testing
