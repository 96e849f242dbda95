// Scripted HTTP exchanges for the API analytics tests: messages as the
// parsers would hand them to detectors, a server-side connection, and a
// clock the tests move by hand.
#pragma once

#include <arpa/inet.h>

#include <chrono>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "agent/capture/stream_assembler.h"
#include "agent/http/message.h"
#include "agent/inspect/detector.h"

namespace rampart::apis::testing {

inline std::string TestData(const std::string& name) { return std::string(RAMPART_APIS_TESTDATA) + "/" + name; }

// 2024-05-01T12:00:00Z: a whole minute, so fixed windows start here.
inline std::chrono::system_clock::time_point T0() {
  return std::chrono::system_clock::time_point(std::chrono::seconds(1714564800));
}

inline http::Message Request(std::string method, std::string target, std::vector<http::Header> headers = {},
                             std::string body = "") {
  http::Message m;
  m.is_request = true;
  m.method = std::move(method);
  m.target = std::move(target);
  m.authority = "api.example.com";
  m.headers = std::move(headers);
  m.body_wire_bytes = body.size();
  m.body = std::move(body);
  return m;
}

// The response to `request`, carrying its method, target and authority as
// the parsers do.
inline http::Message Response(const http::Message& request, int status, std::string body = "",
                              std::vector<http::Header> headers = {}) {
  http::Message m;
  m.is_request = false;
  m.method = request.method;
  m.target = request.target;
  m.authority = request.authority;
  m.status = status;
  m.headers = std::move(headers);
  m.body_wire_bytes = body.size();
  m.body = std::move(body);
  return m;
}

inline void SetV4(uint8_t out[16], const char* text) {
  std::memset(out, 0, 16);
  out[10] = out[11] = 0xff;
  inet_pton(AF_INET, text, out + 12);
}

// api-server (pid 42) serving 10.0.0.2:443 to `client` from port `port`.
inline capture::ConnectionInfo ServerConnection(const char* client = "10.0.0.7", uint16_t port = 50000,
                                                uint64_t ssl = 0x1000) {
  capture::ConnectionInfo info;
  info.key = {.pid = 42, .ssl = ssl, .generation = 0};
  info.comm = "api-server";
  info.tuple_known = true;
  SetV4(info.tuple.local_addr, "10.0.0.2");
  SetV4(info.tuple.remote_addr, client);
  info.tuple.local_port = 443;
  info.tuple.remote_port = port;
  info.tuple.proto = 6;
  return info;
}

inline inspect::MessageContext Context(const capture::ConnectionInfo& info, std::chrono::system_clock::time_point now,
                                       std::string remote = "10.0.0.7", bool server_side = true) {
  return inspect::MessageContext{
      .connection = info, .server_side = server_side, .remote_address = std::move(remote), .now = now};
}

inline std::vector<http::Header> ApiKey(const std::string& key) { return {{"x-api-key", key}}; }

}  // namespace rampart::apis::testing
