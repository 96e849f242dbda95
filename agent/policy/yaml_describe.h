// How policy and spec loaders name a YAML node in their one-line errors: its
// line, and what it is ("a map", "a string \"x\"") when it is not what was
// expected. Shared so every loader words the same mistake the same way.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>

#include "agent/common/strings.h"
#include "agent/policy/validate.h"

namespace rampart::policy {

// 1-based; 0 when the node has no position (made in code, not parsed).
inline int YamlLine(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? 0 : mark.line + 1;
}

// Strings longer than `max_chars` are cut, so an error line stays one line.
inline std::string DescribeYaml(const YAML::Node& node, size_t max_chars = 64) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar: {
      std::string_view value = node.Scalar();
      if (value.size() > max_chars) return rampart::StrCat("a string ", Quote(value.substr(0, max_chars)), "...");
      return rampart::StrCat("a string ", Quote(value));
    }
    case YAML::NodeType::Null:
      return "nothing";
    default:
      return "an undefined value";
  }
}

}  // namespace rampart::policy
