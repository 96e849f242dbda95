// Throughput of http::ConnectionParser on HTTP/1.1, against a baseline
// measured in the same run on the same bytes in the same 16 KiB pieces:
// memchr for "\r\n\r\n", the least any HTTP/1 reader must do to find
// message heads. Rounds are interleaved (each round runs every workload with
// both variants) and medians reported, because the machine is shared.
//
//   csic2010   the 36,000 benign CSIC 2010 requests as one pipelined client
//              stream (GET with queries, POST with form bodies)
//   keepalive  synthetic API traffic on one keep-alive connection: requests
//              with headers and bearer tokens, JSON responses of 0.2-8 KB
//              (one in five chunked), requests and responses each fed in
//              16 KiB pieces, the requests of a piece before their responses
//
// Not a test: run by hand, e.g. build-http/tests/http/http1_bench [rounds].
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "agent/http/connection_parser.h"

namespace {

using rampart::http::ConnectionParser;
using rampart::http::Message;
using rampart::http::MessageSink;

constexpr size_t kPiece = 16 << 10;

std::string ReadGzip(const std::string& path) {
  std::string out;
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) return out;
  char buffer[1 << 16];
  int n;
  while ((n = gzread(file, buffer, sizeof(buffer))) > 0) out.append(buffer, static_cast<size_t>(n));
  gzclose(file);
  return out;
}

// One OnData call: a direction and its bytes.
struct Piece {
  int flow;
  std::string bytes;
};

struct Workload {
  const char* name;
  std::vector<Piece> pieces;
  size_t bytes = 0;
  size_t requests = 0;  // what the parser is expected to deliver
  size_t responses = 0;
};

Workload Csic2010(const std::string& corpus) {
  Workload w{"csic2010", {}, corpus.size(), 36000, 0};
  for (size_t at = 0; at < corpus.size(); at += kPiece) w.pieces.push_back({0, corpus.substr(at, kPiece)});
  return w;
}

std::string Json(std::mt19937_64& rng, size_t target) {
  std::string body = "{\"data\":[";
  for (size_t i = 0; body.size() < target; ++i) {
    if (i > 0) body += ",";
    body += "{\"id\":" + std::to_string(rng() % 1000000) +
            ",\"status\":\"shipped\",\"total\":" + std::to_string(rng() % 1000) + ".50,\"updated_at\":\"2024-03-1" +
            std::to_string(rng() % 10) + "T10:00:00Z\"}";
  }
  return body + "]}";
}

Workload KeepAlive(size_t exchanges) {
  std::mt19937_64 rng(17);
  Workload w{"keepalive", {}, 0, exchanges, exchanges};
  std::string requests, responses;
  auto flush = [&] {
    for (size_t at = 0; at < requests.size(); at += kPiece) w.pieces.push_back({0, requests.substr(at, kPiece)});
    for (size_t at = 0; at < responses.size(); at += kPiece) w.pieces.push_back({1, responses.substr(at, kPiece)});
    w.bytes += requests.size() + responses.size();
    requests.clear();
    responses.clear();
  };
  for (size_t i = 0; i < exchanges; ++i) {
    const bool post = i % 4 == 3;
    const std::string request_body =
        post ? R"({"sku":"SKU-)" + std::to_string(rng() % 100000000) + R"(","qty":2})" : "";
    requests += std::string(post ? "POST /api/v1/orders" : "GET /api/v1/orders?page=") +
                (post ? "" : std::to_string(i % 50) + "&limit=25") +
                " HTTP/1.1\r\nHost: api.shop.example\r\nUser-Agent: shop-client/4.2 (linux; x86_64)\r\n"
                "Accept: application/json\r\nAccept-Encoding: identity\r\nAuthorization: Bearer eyJhbGciOiJIUzI1NiJ9."
                "eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlc2lnbmF0dXJlc2ln\r\nX-Request-Id: " +
                std::to_string(rng()) + "\r\n";
    if (post)
      requests += "Content-Type: application/json\r\nContent-Length: " + std::to_string(request_body.size()) + "\r\n";
    requests += "\r\n" + request_body;

    const std::string body = Json(rng, 200 + rng() % 8000);
    responses +=
        "HTTP/1.1 200 OK\r\nDate: Tue, 12 Mar 2024 10:00:00 GMT\r\nServer: nginx\r\n"
        "Content-Type: application/json; charset=utf-8\r\nCache-Control: no-store\r\n"
        "X-Request-Id: " +
        std::to_string(rng()) + "\r\n";
    if (i % 5 == 4) {
      responses += "Transfer-Encoding: chunked\r\n\r\n";
      for (size_t at = 0; at < body.size(); at += 4096) {
        const std::string chunk = body.substr(at, 4096);
        char size[16];
        std::snprintf(size, sizeof(size), "%zx\r\n", chunk.size());
        responses += size + chunk + "\r\n";
      }
      responses += "0\r\n\r\n";
    } else {
      responses += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    }
    if (requests.size() >= kPiece) flush();
  }
  flush();
  return w;
}

class CountingSink : public MessageSink {
 public:
  void OnMessage(const Message& m) override {
    (m.is_request ? requests : responses) += 1;
    body_bytes += m.body.size();
  }
  size_t requests = 0, responses = 0, body_bytes = 0;
};

struct Run {
  double seconds;
  size_t requests, responses;
};

Run Parse(const Workload& w) {
  CountingSink sink;
  const auto start = std::chrono::steady_clock::now();
  {
    ConnectionParser parser(sink);
    uint64_t offsets[2] = {0, 0};
    for (const Piece& p : w.pieces) {
      parser.OnData(p.flow, offsets[p.flow],
                    std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(p.bytes.data()), p.bytes.size()));
      offsets[p.flow] += p.bytes.size();
    }
    parser.OnEnd();
  }
  return {std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), sink.requests,
          sink.responses};
}

// memchr from '\r' to '\r', counting "\r\n\r\n" within each piece.
Run Baseline(const Workload& w) {
  size_t heads = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const Piece& p : w.pieces) {
    const char* at = p.bytes.data();
    const char* end = at + p.bytes.size();
    while ((at = static_cast<const char*>(std::memchr(at, '\r', static_cast<size_t>(end - at)))) != nullptr) {
      if (end - at >= 4 && std::memcmp(at, "\r\n\r\n", 4) == 0) {
        ++heads;
        at += 4;
      } else {
        ++at;
      }
    }
  }
  return {std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), heads, 0};
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 15;
  const std::string corpus = ReadGzip(RAMPART_HTTP_TEST_DATA "/csic2010-normal-training.txt.gz");
  if (corpus.empty()) {
    std::fprintf(stderr, "cannot read %s\n", RAMPART_HTTP_TEST_DATA "/csic2010-normal-training.txt.gz");
    return 1;
  }
  std::vector<Workload> workloads = {Csic2010(corpus), KeepAlive(20000)};

  std::vector<std::vector<double>> parser_seconds(workloads.size()), baseline_seconds(workloads.size());
  std::vector<Run> last(workloads.size());
  std::vector<size_t> heads(workloads.size());
  for (int round = 0; round < rounds; ++round) {
    for (size_t i = 0; i < workloads.size(); ++i) {
      last[i] = Parse(workloads[i]);
      parser_seconds[i].push_back(last[i].seconds);
      const Run baseline = Baseline(workloads[i]);
      baseline_seconds[i].push_back(baseline.seconds);
      heads[i] = baseline.requests;
    }
    std::fprintf(stderr, "round %d/%d\r", round + 1, rounds);
  }
  std::fprintf(stderr, "\n");

  std::printf("HTTP/1.1 through ConnectionParser in %zu KiB pieces, one thread; median of %d interleaved rounds\n",
              kPiece >> 10, rounds);
  std::printf("%-10s %7s %9s %10s %13s %10s %14s %15s %9s\n", "workload", "MB", "requests", "responses", "parser req/s",
              "parser MB/s", "memchr MB/s", "memchr heads/s", "parser/memchr");
  for (size_t i = 0; i < workloads.size(); ++i) {
    const Workload& w = workloads[i];
    const double parser = Median(parser_seconds[i]), baseline = Median(baseline_seconds[i]);
    const double mb = static_cast<double>(w.bytes) / 1e6;
    std::printf("%-10s %7.1f %9zu %10zu %13.0f %10.0f %14.0f %15.0f %9.3f\n", w.name, mb, last[i].requests,
                last[i].responses, static_cast<double>(last[i].requests) / parser, mb / parser, mb / baseline,
                static_cast<double>(heads[i]) / baseline, baseline / parser);
    if (last[i].requests != w.requests || last[i].responses != w.responses) {
      std::fprintf(stderr, "%s: expected %zu requests and %zu responses\n", w.name, w.requests, w.responses);
      return 1;
    }
  }
  return 0;
}
