#include "agent/apis/api_analytics_detector.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "agent/apis/hashing.h"
#include "agent/common/errors.h"
#include "agent/common/strings.h"
#include "agent/http/text.h"

namespace rampart::apis {
namespace {

using Clock = std::chrono::system_clock;
using findings::Finding;
using findings::Severity;

constexpr size_t kMaxPending = 4096;
constexpr size_t kMaxAlertMemory = 65536;
constexpr size_t kMaxPinnedServices = 4096;
constexpr size_t kMaxUndocumentedPerRequest = 8;
constexpr std::chrono::seconds kDefaultBlockTtl{600};

std::string Lower(std::string_view s) {
  std::string out;
  http::AssignLower(out, s);
  return out;
}

// A Host / :authority as the inventory keys it: lower-cased, without the
// port; "" unless it is made of host-name or address characters.
std::string HostOf(std::string_view authority) {
  if (authority.empty() || authority.size() > 255) return {};
  std::string_view host = authority;
  if (host.front() == '[') {
    const size_t close = host.find(']');
    if (close == std::string_view::npos) return {};
    host = host.substr(1, close - 1);
  } else if (const size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '-' || c == ':' || c == '_';
    if (!ok) return {};
  }
  return Lower(host);
}

// The text of an address as the kernel reports it (IPv4 mapped into IPv6).
std::string FormatAddress(const uint8_t bytes[16]) {
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char text[INET6_ADDRSTRLEN] = {};
  if (std::equal(kMapped, kMapped + 12, bytes)) {
    inet_ntop(AF_INET, bytes + 12, text, sizeof(text));
  } else {
    inet_ntop(AF_INET6, bytes, text, sizeof(text));
  }
  return text;
}

ServiceKey ServiceOf(const http::Message& message, const inspect::MessageContext& context) {
  const capture::ConnectionInfo& info = context.connection;
  ServiceKey key;
  key.process = info.comm;
  key.host = HostOf(message.authority);
  if (info.tuple_known) {
    key.port = info.tuple.local_port;
    if (key.host.empty()) key.host = FormatAddress(info.tuple.local_addr);
  }
  return key;
}

uint64_t ServiceHash(const ServiceKey& key, uint64_t seed) {
  return HashCombine(Hash64(rampart::StrCat(key.process, '\0', key.host), seed), key.port);
}

uint64_t EndpointHash(uint64_t service, std::string_view method, std::string_view path_template, uint64_t seed) {
  return HashCombine(service, Hash64(rampart::StrCat(method, " ", path_template), seed));
}

// Body bytes on the wire: Content-Length when given, else what was read.
uint64_t BodyBytes(const http::Message& message) {
  if (const std::string* length = message.FindHeader("content-length")) {
    const std::string_view text = http::TrimOws(*length);
    uint64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (!text.empty() && ec == std::errc() && end == text.data() + text.size()) return n;
  }
  return message.body_wire_bytes;
}

std::string_view ContentType(const http::Message& message) {
  const std::string* value = message.FindHeader("content-type");
  return value ? std::string_view(*value) : std::string_view();
}

bool LooksLikeJson(const http::Message& message) {
  const std::string_view type = ContentType(message);
  if (!type.empty()) return Lower(type.substr(0, type.find(';'))).find("json") != std::string::npos;
  const size_t first = message.body.find_first_not_of(" \t\r\n");
  return first != std::string::npos && (message.body[first] == '[' || message.body[first] == '{');
}

Finding MakeFinding(std::string_view detector, Severity severity, double confidence, std::string masked,
                    std::string reason, std::string location) {
  Finding f;
  f.detector = std::string(detector);
  f.severity = severity;
  f.confidence = confidence;
  f.masked_value = std::move(masked);
  f.reason = std::move(reason);
  f.location = std::move(location);
  return f;
}

std::string Seconds(std::chrono::seconds s) {
  const int64_t n = s.count();
  if (n % 86400 == 0) return rampart::StrCat(n / 86400, "d");
  if (n % 3600 == 0) return rampart::StrCat(n / 3600, "h");
  if (n % 60 == 0) return rampart::StrCat(n / 60, "m");
  return rampart::StrCat(n, "s");
}

std::string OneDecimal(double v) {
  const int64_t tenths = static_cast<int64_t>(std::llround(v * 10));
  return rampart::StrCat(tenths / 10, ".", tenths % 10);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ApiAnalyticsDetector>> ApiAnalyticsDetector::Create(
    const ApiAnalyticsConfig& config, std::shared_ptr<ApiInventory> inventory, std::string_view config_path) {
  if (inventory == nullptr) return absl::InvalidArgumentError("API analytics: no inventory to record into");
  std::vector<std::shared_ptr<const OpenApiSpec>> specs;
  for (size_t i = 0; i < config.openapi.size(); ++i) {
    auto spec = OpenApiSpec::Load(config.openapi[i].spec_file);
    if (!spec.ok()) return Annotate(spec.status(), rampart::StrCat(config_path, ".openapi[", i, "].spec"));
    specs.push_back(std::make_shared<const OpenApiSpec>(std::move(*spec)));
  }
  return std::make_unique<ApiAnalyticsDetector>(config, std::move(specs), std::move(inventory), RandomSeed());
}

ApiAnalyticsDetector::ApiAnalyticsDetector(ApiAnalyticsConfig config,
                                           std::vector<std::shared_ptr<const OpenApiSpec>> specs,
                                           std::shared_ptr<ApiInventory> inventory, uint64_t seed)
    : config_(std::move(config)),
      specs_(std::move(specs)),
      inventory_(std::move(inventory)),
      seed_(seed),
      identities_(config_.identity, seed),
      rate_limiter_(config_.rate_limits, config_.max_identities),
      objects_(config_.bola),
      bulk_(config_.bulk),
      pending_(kMaxPending),
      alerted_(kMaxAlertMemory),
      pinned_(kMaxPinnedServices) {}

ApiAnalyticsDetector::~ApiAnalyticsDetector() = default;

void ApiAnalyticsDetector::Inspect(const http::Message& message, const inspect::MessageContext& context,
                                   std::vector<Finding>& out) {
  std::lock_guard lock(mu_);
  if (!context.server_side) {
    ++stats_.client_side_skipped;
    return;
  }
  const size_t before = out.size();
  if (message.is_request) {
    OnRequest(message, context, out);
  } else {
    OnResponse(message, context, out);
  }
  stats_.findings += out.size() - before;
}

const OpenApiSpec* ApiAnalyticsDetector::SpecFor(const ServiceKey& service) {
  for (size_t i = 0; i < config_.openapi.size() && i < specs_.size(); ++i) {
    if (!config_.openapi[i].Matches(service)) continue;
    bool created = false;
    pinned_.FindOrCreate(ServiceHash(service, seed_), &created);
    if (created) inventory_->Pin(service, specs_[i]->RouteTemplates());
    return specs_[i].get();
  }
  return nullptr;
}

uint64_t ApiAnalyticsDetector::PendingKey(const http::Message& message, const inspect::MessageContext& context) const {
  const capture::ConnectionKey& c = context.connection.key;
  uint64_t h = HashCombine(HashCombine(c.pid, c.ssl), HashCombine(c.generation, message.stream_id));
  return HashCombine(h, Hash64(rampart::StrCat(message.method, " ", message.target), seed_));
}

bool ApiAnalyticsDetector::ShouldAlert(std::string_view kind, uint64_t subject, bool blocks, Clock::time_point now) {
  if (blocks) return true;
  const uint64_t key = HashCombine(Hash64(kind, seed_), subject);
  bool created = false;
  Clock::time_point& last = alerted_.FindOrCreate(key, &created);
  if (!created && now - last < config_.realert_after && now >= last) {
    ++stats_.alerts_suppressed;
    return false;
  }
  last = now;
  return true;
}

void ApiAnalyticsDetector::OnRequest(const http::Message& request, const inspect::MessageContext& context,
                                     std::vector<Finding>& out) {
  ++stats_.requests;
  const Clock::time_point now = context.now;
  const ServiceKey service = ServiceOf(request, context);
  const uint64_t service_hash = ServiceHash(service, seed_);
  const SplitTargetResult target = SplitTarget(request.target);
  const std::vector<std::string> query_names = QueryParameterNames(target.query);
  const capture::PeerCertificate* peer = context.connection.peer_certificate.get();
  const Identity identity = identities_.Resolve(request, context.remote_address, peer);

  // The spec first, on the path as sent: its templates are the reference.
  const OpenApiSpec* spec = SpecFor(service);
  SpecMatch match;
  SpecStatus status = SpecStatus::kNoSpec;
  if (spec != nullptr) {
    match = spec->Match(request.method, target.path);
    status = match.operation == nullptr    ? SpecStatus::kShadow
             : match.operation->deprecated ? SpecStatus::kZombie
                                           : SpecStatus::kDocumented;
  }

  RequestFacts facts;
  facts.method = request.method;
  facts.path = target.path;
  facts.query_parameters = &query_names;
  facts.auth_schemes = identities_.AuthSchemes(request, peer);
  facts.content_type = ContentType(request);
  facts.bytes = BodyBytes(request);
  facts.spec = status;
  const RecordedRequest recorded = inventory_->RecordRequest(service, facts, now);
  const std::string& path_template = recorded.path.text;
  const std::string endpoint = rampart::StrCat(request.method, " ", path_template);
  const uint64_t endpoint_hash = EndpointHash(service_hash, request.method, path_template, seed_);
  const uint64_t identity_endpoint = HashCombine(endpoint_hash, identity.key);
  const std::string service_name = ServiceName(service);

  if (status == SpecStatus::kShadow &&
      ShouldAlert(kShadowEndpoint, identity_endpoint, config_.alerts.shadow_endpoint.block, now)) {
    std::string why = match.path == nullptr
                          ? rampart::StrCat(endpoint, " is not in the OpenAPI spec of ", service_name)
                          : rampart::StrCat(endpoint, " is not in the OpenAPI spec of ", service_name, ": ",
                                            match.path->path_template, " has no ", request.method);
    out.push_back(MakeFinding(kShadowEndpoint, Severity::kMedium, 0.9, identity.masked,
                              rampart::StrCat(why, " (", spec->source(), ")"), "request.path"));
  }
  if (status == SpecStatus::kZombie &&
      ShouldAlert(kZombieEndpoint, identity_endpoint, config_.alerts.zombie_endpoint.block, now)) {
    out.push_back(MakeFinding(kZombieEndpoint, Severity::kMedium, 1.0, identity.masked,
                              rampart::StrCat(endpoint, " is deprecated in the OpenAPI spec of ", service_name, " (",
                                              match.path->path_template, ", ", spec->source(), ") and still called"),
                              "request.path"));
  }
  if (match.operation != nullptr && !query_names.empty()) {
    size_t reported = 0;
    for (const std::string& name : UndocumentedQueryParameters(*match.operation, query_names)) {
      if (reported == kMaxUndocumentedPerRequest) break;
      if (!ShouldAlert(kUndocumentedParameter, HashCombine(identity_endpoint, Hash64(name, seed_)),
                       config_.alerts.undocumented_parameter.block, now)) {
        continue;
      }
      ++reported;
      out.push_back(MakeFinding(
          kUndocumentedParameter, Severity::kLow, 0.8, identity.masked,
          rampart::StrCat("query parameter \"", name, "\" is not declared for ", endpoint, " in the OpenAPI spec of ",
                          service_name, " (", match.path->path_template, ", ", spec->source(), ")"),
          rampart::StrCat("request.query ", name)));
    }
  }

  if (identity.kind == IdentityKind::kNone) return;

  const RequestClass request_class = ClassOf(request.method);
  const RateDecision rate = rate_limiter_.Admit(HashCombine(service_hash, identity.key), request_class, now);
  if (!rate.allowed && (rate.first_refusal || config_.alerts.rate_limit.block)) {
    const auto left = std::chrono::ceil<std::chrono::seconds>(rate.window_left);
    rate_limit_ttl_ = config_.alerts.rate_limit.block_ttl.count() != 0 ? config_.alerts.rate_limit.block_ttl
                                                                       : std::max(left, std::chrono::seconds(1));
    const char* what = request_class == RequestClass::kRead ? "reads" : "writes";
    out.push_back(
        MakeFinding(kRateLimit, Severity::kMedium, 1.0, identity.masked,
                    rampart::StrCat(what, " over ", FormatRateLimit(rate.limit), " on ", service_name, ": request ",
                                    rate.count, " in the current window (", left.count(), "s left)"),
                    "request"));
  }

  if (recorded.path.values.empty()) {
    pending_.FindOrCreate(PendingKey(request, context)) = Pending{identity.key, identity.masked};
    return;
  }
  // The object is the tuple of parameter values; only its hash is kept.
  std::string object;
  for (std::string_view v : recorded.path.values) {
    object.append(v);
    object.push_back('/');
  }
  const ObjectAccessVerdict access = objects_.Record(identity_endpoint, Hash64(object, seed_), now);
  if (access.flagged && (access.first_in_window || config_.alerts.bola.block)) {
    std::string baseline =
        access.baseline > 0 ? rampart::StrCat("; usual ", OneDecimal(access.baseline), " per window") : "";
    out.push_back(MakeFinding(
        kBola, Severity::kHigh, 0.7, identity.masked,
        rampart::StrCat(access.distinct, " distinct object ids on ", endpoint, " of ", service_name, " within ",
                        Seconds(objects_.options().window), " (threshold ", access.threshold, baseline, ")"),
        "request.path"));
  }
  pending_.FindOrCreate(PendingKey(request, context)) = Pending{identity.key, identity.masked};
}

void ApiAnalyticsDetector::OnResponse(const http::Message& response, const inspect::MessageContext& context,
                                      std::vector<Finding>& out) {
  ++stats_.responses;
  if (response.method.empty()) {
    ++stats_.unpaired_responses;  // the parser could not tell which request it answers
    return;
  }
  const ServiceKey service = ServiceOf(response, context);
  const SplitTargetResult target = SplitTarget(response.target);
  const uint64_t bytes = BodyBytes(response);
  ResponseFacts facts{.method = response.method,
                      .path = target.path,
                      .status = response.status,
                      .content_type = ContentType(response),
                      .bytes = bytes};
  const std::string path_template = inventory_->RecordResponse(service, facts, context.now);

  const uint64_t key = PendingKey(response, context);
  const Pending* pending = pending_.Find(key);
  if (pending == nullptr) {
    ++stats_.unpaired_responses;
    return;
  }
  const Pending request = *pending;
  pending_.Erase(key);
  if (response.status < 200 || response.status >= 300 || path_template.empty()) return;

  std::optional<uint64_t> records;
  if (LooksLikeJson(response)) records = CountRecords(response.body);
  const uint64_t endpoint_hash = EndpointHash(ServiceHash(service, seed_), response.method, path_template, seed_);
  const BulkVerdict bulk = bulk_.Observe(HashCombine(endpoint_hash, request.identity), endpoint_hash, records, bytes);
  if (!bulk.flagged) return;
  const std::string endpoint = rampart::StrCat(response.method, " ", path_template);
  const char* whose = bulk.endpoint_baseline ? "this endpoint's usual" : "this identity's usual";
  std::string reason;
  if (bulk.by_records) {
    reason = rampart::StrCat(*records, response.body_truncated ? "+" : "", " records in one response from ", endpoint,
                             " (threshold ", bulk.threshold_records, "; ", whose, " ",
                             OneDecimal(bulk.baseline_records), ")");
  } else {
    reason = rampart::StrCat(bytes, " bytes in one response from ", endpoint, " (threshold ", bulk.threshold_bytes,
                             "; ", whose, " ", OneDecimal(bulk.baseline_bytes), ")");
  }
  out.push_back(MakeFinding(kBulkExtraction, Severity::kHigh, bulk.endpoint_baseline ? 0.5 : 0.6, request.masked,
                            std::move(reason), "response.body"));
}

inspect::FamilyVerdict ApiAnalyticsDetector::VerdictFor(const Finding& finding,
                                                        const inspect::FamilyVerdict& family) const {
  const AlertAction* action = nullptr;
  const ApiAlerts& a = config_.alerts;
  if (finding.detector == kShadowEndpoint) action = &a.shadow_endpoint;
  if (finding.detector == kZombieEndpoint) action = &a.zombie_endpoint;
  if (finding.detector == kUndocumentedParameter) action = &a.undocumented_parameter;
  if (finding.detector == kRateLimit) action = &a.rate_limit;
  if (finding.detector == kBola) action = &a.bola;
  if (finding.detector == kBulkExtraction) action = &a.bulk_extraction;
  if (action == nullptr) return family;
  inspect::FamilyVerdict verdict;
  verdict.block = action->block;
  verdict.min_severity = Severity::kInfo;  // the alert's own action decides
  verdict.reason = RP_BLOCK_BY_API;
  if (finding.detector == kRateLimit) {
    std::lock_guard lock(mu_);
    verdict.ttl = rate_limit_ttl_;
  } else {
    verdict.ttl = action->block_ttl.count() != 0 ? action->block_ttl : kDefaultBlockTtl;
  }
  return verdict;
}

void ApiAnalyticsDetector::AfterInspection(const http::Message& message, const inspect::MessageContext& context,
                                           const std::vector<Finding>& all) {
  if (message.is_request || !context.server_side || message.method.empty() || all.empty()) return;
  std::vector<std::string> data_types;
  for (const Finding& f : all) {
    if (!f.detector.starts_with("dlp.") || !f.location.starts_with("response.")) continue;
    if (std::find(data_types.begin(), data_types.end(), f.detector) == data_types.end()) {
      data_types.push_back(f.detector);
    }
  }
  if (data_types.empty()) return;
  inventory_->RecordSensitiveData(ServiceOf(message, context), message.method, SplitTarget(message.target).path,
                                  data_types);
}

ApiAnalyticsStats ApiAnalyticsDetector::stats() const {
  std::lock_guard lock(mu_);
  ApiAnalyticsStats s = stats_;
  s.inventory = inventory_->stats();
  s.rate_limiter = rate_limiter_.stats();
  s.object_access = objects_.stats();
  s.bulk = bulk_.stats();
  return s;
}

}  // namespace rampart::apis
