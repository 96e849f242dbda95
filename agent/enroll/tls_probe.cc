#include "agent/enroll/tls_probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "agent/common/errors.h"
#include "agent/common/strings.h"

namespace rampart::enroll {
namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

absl::Status ConnectWithTimeout(int fd, const sockaddr* addr, socklen_t len, std::chrono::milliseconds timeout) {
  const int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  if (connect(fd, addr, len) != 0) {
    if (errno != EINPROGRESS) return ErrnoError(errno, "connect");
    pollfd p{fd, POLLOUT, 0};
    const int ready = poll(&p, 1, static_cast<int>(timeout.count()));
    if (ready == 0) return absl::DeadlineExceededError(StrCat("connect: no answer within ", timeout.count(), " ms"));
    if (ready < 0) return ErrnoError(errno, "connect");
    int err = 0;
    socklen_t err_len = sizeof(err);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len);
    if (err != 0) return ErrnoError(err, "connect");
  }
  fcntl(fd, F_SETFL, flags);
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  return absl::OkStatus();
}

absl::StatusOr<int> Connect(const HostPort& target, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(target.host.c_str(), target.port.c_str(), &hints, &found); rc != 0) {
    return absl::UnavailableError(StrCat("resolve ", target.host, ": ", gai_strerror(rc)));
  }
  absl::Status last = absl::UnavailableError("no address");
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last = ErrnoError(errno, "socket");
      continue;
    }
    last = ConnectWithTimeout(fd, ai->ai_addr, ai->ai_addrlen, timeout);
    if (last.ok()) {
      freeaddrinfo(found);
      return fd;
    }
    close(fd);
  }
  freeaddrinfo(found);
  return last;
}

bool IsIpAddress(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

absl::StatusOr<HostPort> SplitHostPort(const std::string& address) {
  HostPort out;
  size_t colon;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return absl::InvalidArgumentError(StrCat("address \"", address, "\": expected [IPv6]:PORT"));
    }
    out.host = address.substr(1, close - 1);
    colon = close + 1;
  } else {
    colon = address.rfind(':');
    if (colon == std::string::npos || address.find(':') != colon) {
      return absl::InvalidArgumentError(StrCat("address \"", address, "\": expected HOST:PORT"));
    }
    out.host = address.substr(0, colon);
  }
  out.port = address.substr(colon + 1);
  if (out.host.empty() || out.port.empty() || out.port.find_first_not_of("0123456789") != std::string::npos) {
    return absl::InvalidArgumentError(StrCat("address \"", address, "\": expected HOST:PORT"));
  }
  return out;
}

namespace {

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

// A TCP connection and a TLS client handshake that verifies nothing.
struct Handshake {
  Fd socket;
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx;
  std::unique_ptr<SSL, SslFree> ssl;
  absl::Status connected;  // of the TCP connection; the handshake result is returned separately
};

struct ClientIdentity {
  X509* leaf = nullptr;
  EVP_PKEY* key = nullptr;
};

// OK, or the handshake error with OpenSSL's reason. `handshake.connected`
// tells a refused handshake from no connection at all.
absl::Status Shake(Handshake& handshake, const std::string& address, const std::string& server_name,
                   std::chrono::milliseconds timeout, ClientIdentity client, int max_version) {
  auto target = SplitHostPort(address);
  if (!target.ok()) {
    handshake.connected = target.status();
    return target.status();
  }
  auto fd = Connect(*target, timeout);
  if (!fd.ok()) {
    handshake.connected = fd.status();
    return fd.status();
  }
  handshake.socket.fd = *fd;
  handshake.ctx.reset(SSL_CTX_new(TLS_client_method()));
  if (!handshake.ctx) return x509::OpenSslError(absl::StatusCode::kInternal, "TLS context");
  // Nothing is verified here on purpose: the caller decides what to trust.
  SSL_CTX_set_verify(handshake.ctx.get(), SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_min_proto_version(handshake.ctx.get(), TLS1_2_VERSION);
  if (max_version != 0) SSL_CTX_set_max_proto_version(handshake.ctx.get(), max_version);
  handshake.ssl.reset(SSL_new(handshake.ctx.get()));
  SSL* ssl = handshake.ssl.get();
  static const unsigned char kAlpnH2[] = {2, 'h', '2'};
  const std::string sni = server_name.empty() ? target->host : server_name;
  if (!ssl || SSL_set_fd(ssl, handshake.socket.fd) != 1 || SSL_set_alpn_protos(ssl, kAlpnH2, sizeof(kAlpnH2)) != 0 ||
      (!IsIpAddress(sni) && SSL_set_tlsext_host_name(ssl, sni.c_str()) != 1) ||
      (client.leaf && (SSL_use_certificate(ssl, client.leaf) != 1 || SSL_use_PrivateKey(ssl, client.key) != 1))) {
    return x509::OpenSslError(absl::StatusCode::kInternal, "TLS client setup");
  }
  if (SSL_connect(ssl) == 1) return absl::OkStatus();
  const unsigned long err = ERR_peek_last_error();
  const char* reason = err ? ERR_reason_error_string(err) : nullptr;
  ERR_clear_error();
  return absl::UnavailableError(reason ? reason : "the connection closed during the TLS handshake");
}

}  // namespace

absl::StatusOr<std::vector<x509::Cert>> FetchServerChain(const std::string& address, const std::string& server_name,
                                                         std::chrono::milliseconds timeout) {
  const std::string what = StrCat("fetch the control plane's certificate from ", address);
  Handshake handshake;
  absl::Status shaken = Shake(handshake, address, server_name, timeout, {}, 0);
  if (!handshake.connected.ok()) return Annotate(handshake.connected, what);
  if (!shaken.ok()) return Annotate(shaken, StrCat(what, ": TLS handshake failed (is it a TLS port?)"));
  STACK_OF(X509)* presented = SSL_get_peer_cert_chain(handshake.ssl.get());
  std::vector<x509::Cert> chain;
  for (int i = 0; presented != nullptr && i < sk_X509_num(presented); ++i) {
    chain.push_back(x509::CopyOf(sk_X509_value(presented, i)));
  }
  SSL_shutdown(handshake.ssl.get());
  if (chain.empty()) return absl::UnavailableError(StrCat(what, ": the server sent no certificate"));
  return chain;
}

absl::Status ProbeClientCertificate(const std::string& address, const std::string& server_name, X509* leaf,
                                    EVP_PKEY* key, std::chrono::milliseconds timeout) {
  Handshake without;
  absl::Status anonymous = Shake(without, address, server_name, timeout, {}, TLS1_2_VERSION);
  if (!without.connected.ok()) return Annotate(without.connected, StrCat("connect to ", address));
  if (!anonymous.ok()) return Annotate(anonymous, StrCat("TLS handshake with ", address));
  SSL_shutdown(without.ssl.get());

  Handshake with;
  absl::Status presented = Shake(with, address, server_name, timeout, {leaf, key}, TLS1_2_VERSION);
  if (!with.connected.ok()) return Annotate(with.connected, StrCat("connect to ", address));
  if (presented.ok()) {
    SSL_shutdown(with.ssl.get());
    return absl::OkStatus();
  }
  if (presented.code() != absl::StatusCode::kUnavailable) return presented;
  // The same handshake without a certificate worked: the certificate was refused.
  const std::string reason(presented.message());
  return absl::PermissionDeniedError(
      StrCat("the control plane refused this certificate in the TLS handshake",
             reason.find("alert") != std::string::npos ? StrCat(" (", reason, ")") : std::string()));
}

absl::StatusOr<x509::Cert> PinnedCa(const std::vector<x509::Cert>& chain, const std::string& pin) {
  std::string presented;
  for (const x509::Cert& cert : chain) {
    auto cert_pin = x509::SpkiPin(cert.get());
    if (!cert_pin.ok()) return cert_pin.status();
    if (*cert_pin != pin) {
      presented += StrCat(presented.empty() ? "" : ", ", *cert_pin);
      continue;
    }
    if (!x509::IsCa(cert.get())) {
      return absl::PermissionDeniedError(StrCat("the certificate matching the CA pin ", pin, " is not a CA"));
    }
    std::vector<x509::Cert> intermediates;
    for (size_t i = 1; i < chain.size(); ++i) intermediates.push_back(x509::CopyOf(chain[i].get()));
    if (absl::Status verified = x509::VerifyChain(chain.front().get(), intermediates, cert.get()); !verified.ok()) {
      return absl::PermissionDeniedError(
          StrCat("the control plane's certificate does not verify against the pinned CA: ", verified.message()));
    }
    return x509::CopyOf(cert.get());
  }
  return absl::PermissionDeniedError(StrCat("CA pin mismatch: expected ", pin, ", server presented ", presented,
                                            " (wrong control plane, or a token from another fleet)"));
}

}  // namespace rampart::enroll
