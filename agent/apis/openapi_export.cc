#include "agent/apis/openapi_export.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <utility>
#include <vector>

#include "agent/common/strings.h"
#include "agent/common/utc_time.h"

namespace rampart::apis {
namespace {

// A small ordered document tree, printed as YAML or JSON. Scalars know
// whether they are strings, so both printers quote exactly the strings.
struct Doc {
  enum class Kind { kString, kNumber, kBool, kMap, kList };
  Kind kind = Kind::kMap;
  std::string scalar;
  std::vector<std::pair<std::string, Doc>> map;
  std::vector<Doc> list;

  static Doc String(std::string s) { return Doc{Kind::kString, std::move(s), {}, {}}; }
  static Doc Number(uint64_t n) { return Doc{Kind::kNumber, std::to_string(n), {}, {}}; }
  static Doc Number(double d) {
    char text[32];
    snprintf(text, sizeof(text), "%.1f", d);
    return Doc{Kind::kNumber, text, {}, {}};
  }
  static Doc Bool(bool b) { return Doc{Kind::kBool, b ? "true" : "false", {}, {}}; }
  static Doc List() { return Doc{Kind::kList, {}, {}, {}}; }

  Doc& operator[](const std::string& key) {
    for (auto& [k, v] : map) {
      if (k == key) return v;
    }
    map.emplace_back(key, Doc{});
    return map.back().second;
  }
  void Add(Doc d) { list.push_back(std::move(d)); }
};

void EmitYaml(YAML::Emitter& out, const Doc& doc) {
  switch (doc.kind) {
    case Doc::Kind::kString:
      out << YAML::DoubleQuoted << doc.scalar;
      break;
    case Doc::Kind::kNumber:
    case Doc::Kind::kBool:
      out << doc.scalar;
      break;
    case Doc::Kind::kMap:
      if (doc.map.empty()) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        break;
      }
      out << YAML::BeginMap;
      for (const auto& [key, value] : doc.map) {
        out << YAML::Key;
        // Status codes and other digit keys stay strings for OpenAPI tools.
        const bool quote = !key.empty() && key.find_first_not_of("0123456789") == std::string::npos;
        if (quote) out << YAML::DoubleQuoted;
        out << key << YAML::Value;
        EmitYaml(out, value);
      }
      out << YAML::EndMap;
      break;
    case Doc::Kind::kList:
      if (doc.list.empty()) {
        out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        break;
      }
      out << YAML::BeginSeq;
      for (const auto& item : doc.list) EmitYaml(out, item);
      out << YAML::EndSeq;
      break;
  }
}

void JsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char esc[8];
          snprintf(esc, sizeof(esc), "\\u%04x", c);
          out += esc;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

void EmitJson(std::string& out, const Doc& doc, int indent) {
  const std::string pad(static_cast<size_t>(indent + 2), ' ');
  const std::string end_pad(static_cast<size_t>(indent), ' ');
  switch (doc.kind) {
    case Doc::Kind::kString:
      JsonString(out, doc.scalar);
      break;
    case Doc::Kind::kNumber:
    case Doc::Kind::kBool:
      out += doc.scalar;
      break;
    case Doc::Kind::kMap:
      if (doc.map.empty()) {
        out += "{}";
        break;
      }
      out += "{\n";
      for (size_t i = 0; i < doc.map.size(); ++i) {
        out += pad;
        JsonString(out, doc.map[i].first);
        out += ": ";
        EmitJson(out, doc.map[i].second, indent + 2);
        out += i + 1 < doc.map.size() ? ",\n" : "\n";
      }
      out += end_pad + "}";
      break;
    case Doc::Kind::kList:
      if (doc.list.empty()) {
        out += "[]";
        break;
      }
      out += "[\n";
      for (size_t i = 0; i < doc.list.size(); ++i) {
        out += pad;
        EmitJson(out, doc.list[i], indent + 2);
        out += i + 1 < doc.list.size() ? ",\n" : "\n";
      }
      out += end_pad + "]";
      break;
  }
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

Doc SchemaFor(uint8_t kinds) {
  Doc schema;
  const uint8_t number = 1u << static_cast<unsigned>(SegmentKind::kNumber);
  const uint8_t uuid = 1u << static_cast<unsigned>(SegmentKind::kUuid);
  if (kinds == number) {
    schema["type"] = Doc::String("integer");
  } else if (kinds == uuid) {
    schema["type"] = Doc::String("string");
    schema["format"] = Doc::String("uuid");
  } else {
    schema["type"] = Doc::String("string");
  }
  return schema;
}

Doc Sizes(const SizeStats& s) {
  Doc d;
  d["count"] = Doc::Number(s.count);
  d["min"] = Doc::Number(s.min);
  d["max"] = Doc::Number(s.max);
  d["mean"] = Doc::Number(s.mean());
  return d;
}

Doc Strings(const std::set<std::string>& values) {
  Doc list = Doc::List();
  for (const auto& v : values) list.Add(Doc::String(v));
  return list;
}

constexpr std::string_view kOperationMethods[] = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};

}  // namespace

std::string RenderOpenApi(const ServiceInventory& service, OpenApiFormat format) {
  Doc doc;
  doc["openapi"] = Doc::String("3.0.3");
  Doc& info = doc["info"];
  info["title"] = Doc::String(ServiceName(service.key));
  info["version"] = Doc::String("observed");
  info["description"] =
      Doc::String("Endpoints observed in traffic by Rampart. Paths are templates; parameters are named by position.");
  Doc servers = Doc::List();
  Doc server;
  const bool v6 = service.key.host.find(':') != std::string::npos;
  server["url"] =
      Doc::String(rampart::StrCat("https://", v6 ? "[" : "", service.key.host, v6 ? "]" : "", ":", service.key.port));
  servers.Add(std::move(server));
  doc["servers"] = std::move(servers);
  Doc& paths = doc["paths"];
  paths.kind = Doc::Kind::kMap;

  // Endpoints come sorted by template then method.
  std::map<std::string, std::vector<const EndpointStats*>> by_path;
  for (const auto& e : service.endpoints) by_path[e.path_template].push_back(&e);
  for (const auto& [path_template, endpoints] : by_path) {
    Doc& item = paths[path_template];
    item.kind = Doc::Kind::kMap;
    // Path parameters, once per path item, typed by what every method saw.
    std::vector<uint8_t> kinds;
    for (const EndpointStats* e : endpoints) {
      if (kinds.size() < e->parameter_kinds.size()) kinds.resize(e->parameter_kinds.size());
      for (size_t i = 0; i < e->parameter_kinds.size(); ++i) kinds[i] |= e->parameter_kinds[i];
    }
    size_t parameters = 0;
    for (size_t pos = path_template.find('{'); pos != std::string::npos; pos = path_template.find('{', pos + 1)) {
      ++parameters;
    }
    if (parameters > 0) {
      Doc list = Doc::List();
      for (size_t i = 0; i < parameters; ++i) {
        Doc p;
        p["name"] = Doc::String(i == 0 ? "id" : rampart::StrCat("id", i + 1));
        p["in"] = Doc::String("path");
        p["required"] = Doc::Bool(true);
        p["schema"] = SchemaFor(i < kinds.size() ? kinds[i] : 0);
        list.Add(std::move(p));
      }
      item["parameters"] = std::move(list);
    }
    for (const EndpointStats* e : endpoints) {
      const std::string method = Lower(e->method);
      const bool standard =
          std::find(std::begin(kOperationMethods), std::end(kOperationMethods), method) != std::end(kOperationMethods);
      Doc& op = item[standard ? method : rampart::StrCat("x-method-", method)];
      std::string operation_id = method;
      for (char c : path_template) {
        const bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (word) {
          operation_id.push_back(c);
        } else if (operation_id.back() != '_') {
          operation_id.push_back('_');
        }
      }
      while (operation_id.back() == '_') operation_id.pop_back();
      op["operationId"] = Doc::String(operation_id);
      if (!e->query_parameters.empty()) {
        Doc list = Doc::List();
        for (const auto& name : e->query_parameters) {
          Doc p;
          p["name"] = Doc::String(name);
          p["in"] = Doc::String("query");
          Doc schema;
          schema["type"] = Doc::String("string");
          p["schema"] = std::move(schema);
          list.Add(std::move(p));
        }
        op["parameters"] = std::move(list);
      }
      if (!e->request_content_types.empty()) {
        Doc content;
        for (const auto& type : e->request_content_types) content[type].kind = Doc::Kind::kMap;
        op["requestBody"]["content"] = std::move(content);
      }
      Doc& responses = op["responses"];
      responses.kind = Doc::Kind::kMap;
      for (const auto& [status, count] : e->statuses) {
        Doc& r = responses[std::to_string(status)];
        r["description"] = Doc::String(rampart::StrCat("seen ", count, " times"));
        if (status >= 200 && status < 300 && !e->response_content_types.empty()) {
          Doc content;
          for (const auto& type : e->response_content_types) content[type].kind = Doc::Kind::kMap;
          r["content"] = std::move(content);
        }
      }
      if (e->statuses.empty()) responses["default"]["description"] = Doc::String("no response observed");
      Doc& x = op["x-rampart"];
      x["requests"] = Doc::Number(e->requests);
      x["responses"] = Doc::Number(e->responses);
      x["firstSeen"] = Doc::String(FormatUtc(e->first_seen));
      x["lastSeen"] = Doc::String(FormatUtc(e->last_seen));
      Doc auth = Doc::List();
      for (const auto& name : AuthSchemeNames(e->auth_schemes)) auth.Add(Doc::String(name));
      x["authSchemes"] = std::move(auth);
      x["requestBytes"] = Sizes(e->request_bytes);
      x["responseBytes"] = Sizes(e->response_bytes);
      x["sensitiveData"] = Strings(e->sensitive_data);
      x["specStatus"] = Doc::String(std::string(SpecStatusName(e->spec)));
    }
  }

  if (format == OpenApiFormat::kJson) {
    std::string out;
    EmitJson(out, doc, 0);
    out.push_back('\n');
    return out;
  }
  YAML::Emitter emitter;
  EmitYaml(emitter, doc);
  return rampart::StrCat(emitter.c_str(), "\n");
}

}  // namespace rampart::apis
