#include "agent/inspect/setup.h"

#include <algorithm>
#include <set>

#include "agent/apis/api_analytics_detector.h"
#include "agent/apis/policy_section.h"
#include "agent/attacks/attack_detector.h"
#include "agent/capture/capture_manager.h"
#include "agent/common/errors.h"
#include "agent/common/strings.h"
#include "agent/dlp/dlp_scanner.h"
#include "agent/jwt/jwt_inspector.h"

namespace rampart::inspect {
namespace {

constexpr uint32_t kDefaultTtlSeconds = 600;

findings::Severity SeverityOr(const std::string& text, findings::Severity fallback) {
  auto parsed = ParseSeverity(text);
  return parsed.ok() ? *parsed : fallback;
}

// Block wins; then the lowest severity that blocks and the longest TTL.
void MergeVerdict(const v1::Verdict& from, v1::Verdict& into) {
  if (from.action() == v1::VERDICT_ACTION_UNSPECIFIED) return;
  const bool from_blocks = from.action() == v1::VERDICT_ACTION_BLOCK;
  const bool into_blocks = into.action() == v1::VERDICT_ACTION_BLOCK;
  if (from_blocks && !into_blocks) {
    into = from;
    return;
  }
  if (!from_blocks) {
    if (into.action() == v1::VERDICT_ACTION_UNSPECIFIED) into.set_action(v1::VERDICT_ACTION_MONITOR);
    return;
  }
  const auto high = findings::Severity::kHigh;
  if (SeverityOr(from.min_severity(), high) < SeverityOr(into.min_severity(), high)) {
    into.set_min_severity(from.min_severity());
  }
  into.set_block_ttl_seconds(std::max(into.block_ttl_seconds(), from.block_ttl_seconds()));
}

void AddUnique(const google::protobuf::RepeatedPtrField<std::string>& from,
               google::protobuf::RepeatedPtrField<std::string>* into) {
  for (const auto& item : from) {
    if (std::find(into->begin(), into->end(), item) == into->end()) into->Add(std::string(item));
  }
}

uint32_t SmallestSet(uint32_t a, uint32_t b) { return a == 0 ? b : b == 0 ? a : std::min(a, b); }

FamilyVerdict ToFamilyVerdict(const v1::Verdict& verdict, rp_block_reason reason) {
  FamilyVerdict out;
  out.block = verdict.action() == v1::VERDICT_ACTION_BLOCK;
  out.min_severity = SeverityOr(verdict.min_severity(), findings::Severity::kHigh);
  out.ttl = std::chrono::seconds(verdict.block_ttl_seconds() == 0 ? kDefaultTtlSeconds : verdict.block_ttl_seconds());
  out.reason = reason;
  return out;
}

class DlpDetector final : public Detector {
 public:
  explicit DlpDetector(std::unique_ptr<dlp::DlpScanner> scanner) : scanner_(std::move(scanner)) {}
  std::string_view family() const override { return "dlp"; }
  void Inspect(const http::Message& message, const MessageContext&, std::vector<findings::Finding>& out) override {
    auto found = scanner_->Scan(message);
    out.insert(out.end(), std::make_move_iterator(found.begin()), std::make_move_iterator(found.end()));
  }

 private:
  std::unique_ptr<dlp::DlpScanner> scanner_;
};

class AttackPayloadDetector final : public Detector {
 public:
  explicit AttackPayloadDetector(const attacks::AttackOptions& options) : detector_(options) {}
  std::string_view family() const override { return "attacks"; }
  void Inspect(const http::Message& message, const MessageContext&, std::vector<findings::Finding>& out) override {
    if (!message.is_request) return;
    auto found = detector_.Inspect(message);
    out.insert(out.end(), std::make_move_iterator(found.begin()), std::make_move_iterator(found.end()));
  }

 private:
  attacks::AttackDetector detector_;
};

class JwtDetector final : public Detector {
 public:
  explicit JwtDetector(std::unique_ptr<jwt::JwtInspector> inspector) : inspector_(std::move(inspector)) {}
  std::string_view family() const override { return "jwt"; }
  void Inspect(const http::Message& message, const MessageContext& context,
               std::vector<findings::Finding>& out) override {
    // The client's address identifies it for replay: only where the process
    // served the request is the remote peer the client.
    if (!message.is_request) return;
    auto found = inspector_->Inspect(message, context.server_side ? context.remote_address : "", context.now);
    out.insert(out.end(), std::make_move_iterator(found.begin()), std::make_move_iterator(found.end()));
  }

 private:
  std::unique_ptr<jwt::JwtInspector> inspector_;
};

}  // namespace

bool SelectsProcesses(const v1::CaptureSelection& capture) {
  return capture.all() || !capture.processes().empty() || !capture.units().empty();
}

v1::CaptureSelection MergeCapture(const v1::PolicyBundle& bundle) {
  v1::CaptureSelection merged;
  bool reads = false, writes = false;  // of the policies that select processes
  for (const auto& policy : bundle.policies()) {
    const v1::CaptureSelection& in = policy.spec().inspection().capture();
    merged.set_all(merged.all() || in.all());
    AddUnique(in.processes(), merged.mutable_processes());
    AddUnique(in.units(), merged.mutable_units());
    if (SelectsProcesses(in)) capture::AddCaptureDirections(in.directions(), reads, writes);
  }
  for (const std::string& d : capture::CaptureDirectionNames(reads, writes)) merged.add_directions(d);
  return merged;
}

v1::Inspection MergeInspection(const v1::PolicyBundle& bundle) {
  v1::Inspection merged;
  // The apis sections in policy name order: for them the first policy's
  // thresholds win.
  std::vector<const v1::Policy*> by_name;
  for (const auto& policy : bundle.policies()) by_name.push_back(&policy);
  std::stable_sort(by_name.begin(), by_name.end(),
                   [](const v1::Policy* a, const v1::Policy* b) { return a->metadata().name() < b->metadata().name(); });
  std::vector<const v1::ApiInspection*> api_sections;
  for (const v1::Policy* policy : by_name) {
    if (policy->spec().inspection().has_apis()) api_sections.push_back(&policy->spec().inspection().apis());
  }
  if (!api_sections.empty()) *merged.mutable_apis() = apis::MergeApiInspections(api_sections);
  *merged.mutable_capture() = MergeCapture(bundle);
  for (const auto& policy : bundle.policies()) {
    const v1::Inspection& in = policy.spec().inspection();
    if (in.has_dlp()) {
      auto* dlp = merged.mutable_dlp();
      MergeVerdict(in.dlp().verdict(), *dlp->mutable_verdict());
      AddUnique(in.dlp().detectors(), dlp->mutable_detectors());
      dlp->set_bulk_card_threshold(SmallestSet(dlp->bulk_card_threshold(), in.dlp().bulk_card_threshold()));
    }
    if (in.has_attacks()) {
      auto* attacks = merged.mutable_attacks();
      MergeVerdict(in.attacks().verdict(), *attacks->mutable_verdict());
      attacks->set_max_header_bytes(SmallestSet(attacks->max_header_bytes(), in.attacks().max_header_bytes()));
      attacks->set_max_body_bytes(SmallestSet(attacks->max_body_bytes(), in.attacks().max_body_bytes()));
    }
    if (in.has_jwt()) {
      auto* jwt = merged.mutable_jwt();
      MergeVerdict(in.jwt().verdict(), *jwt->mutable_verdict());
      AddUnique(in.jwt().jwks_files(), jwt->mutable_jwks_files());
      AddUnique(in.jwt().pem_files(), jwt->mutable_pem_files());
      AddUnique(in.jwt().allowed_algorithms(), jwt->mutable_allowed_algorithms());
      jwt->set_leeway_seconds(SmallestSet(jwt->leeway_seconds(), in.jwt().leeway_seconds()));
      jwt->set_replay_window_seconds(std::max(jwt->replay_window_seconds(), in.jwt().replay_window_seconds()));
    }
  }
  return merged;
}

absl::StatusOr<InspectionSetup> BuildInspectionSetup(const v1::Inspection& inspection,
                                                     std::shared_ptr<apis::ApiInventory>* api_inventory) {
  InspectionSetup setup;
  if (inspection.has_dlp()) {
    const v1::DlpInspection& in = inspection.dlp();
    dlp::DlpOptions options;
    options.detectors.assign(in.detectors().begin(), in.detectors().end());
    if (in.bulk_card_threshold() != 0) options.bulk_card_threshold = in.bulk_card_threshold();
    auto scanner = dlp::DlpScanner::Create(options);
    if (!scanner.ok()) return Annotate(scanner.status(), "spec.inspection.dlp");
    setup.detectors.push_back(std::make_unique<DlpDetector>(std::move(*scanner)));
    setup.verdicts["dlp"] = ToFamilyVerdict(in.verdict(), RP_BLOCK_BY_DLP);
  }
  if (inspection.has_attacks()) {
    const v1::AttackInspection& in = inspection.attacks();
    attacks::AttackOptions options;
    if (in.max_header_bytes() != 0) options.limits.max_header_bytes = in.max_header_bytes();
    if (in.max_body_bytes() != 0) options.limits.max_body_bytes = in.max_body_bytes();
    setup.detectors.push_back(std::make_unique<AttackPayloadDetector>(options));
    setup.verdicts["attacks"] = ToFamilyVerdict(in.verdict(), RP_BLOCK_BY_ATTACK);
  }
  if (inspection.has_jwt()) {
    const v1::JwtInspection& in = inspection.jwt();
    jwt::JwtOptions options;
    options.jwks_files.assign(in.jwks_files().begin(), in.jwks_files().end());
    options.pem_files.assign(in.pem_files().begin(), in.pem_files().end());
    options.allowed_algs.assign(in.allowed_algorithms().begin(), in.allowed_algorithms().end());
    if (in.leeway_seconds() != 0) options.leeway = std::chrono::seconds(in.leeway_seconds());
    if (in.replay_window_seconds() != 0) options.replay_window = std::chrono::seconds(in.replay_window_seconds());
    auto inspector = jwt::JwtInspector::Create(options);
    if (!inspector.ok()) return Annotate(inspector.status(), "spec.inspection.jwt");
    setup.detectors.push_back(std::make_unique<JwtDetector>(std::move(*inspector)));
    setup.verdicts["jwt"] = ToFamilyVerdict(in.verdict(), RP_BLOCK_BY_JWT);
  }
  if (inspection.has_apis()) {
    auto config = apis::ApiConfigFromProto(inspection.apis(), "merged policy");
    if (!config.ok()) return config.status();
    // The inventory outlives detectors; new limits start a new one.
    std::shared_ptr<apis::ApiInventory> inventory = api_inventory != nullptr ? *api_inventory : nullptr;
    const apis::InventoryLimits& want = config->inventory;
    if (inventory == nullptr || inventory->limits().max_services != want.max_services ||
        inventory->limits().max_endpoints_per_service != want.max_endpoints_per_service ||
        inventory->limits().templater.param_threshold != want.templater.param_threshold) {
      inventory = std::make_shared<apis::ApiInventory>(want);
    }
    auto detector = apis::ApiAnalyticsDetector::Create(*config, inventory);
    if (!detector.ok()) return detector.status();
    setup.detectors.push_back(std::move(*detector));
    // Each alert kind has its own action (ApiAnalyticsDetector::VerdictFor);
    // the family's entry gives the reason and what status shows.
    setup.verdicts["apis"] = {.reason = RP_BLOCK_BY_API};
    if (api_inventory != nullptr) *api_inventory = std::move(inventory);
  }
  return setup;
}

}  // namespace rampart::inspect
