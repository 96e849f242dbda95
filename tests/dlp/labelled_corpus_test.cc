// Precision and recall of every DLP detector on a labelled corpus
// (tests/dlp/data/labelled.tsv, made by make_labelled.py): true cases built
// by each data type's own rules, and near misses that break one rule or sit
// where docs/dlp.md says a value is not reported. Each line is scanned the
// way the inspection pipeline scans a message, at the default reporting
// threshold; per detector a line is a true positive when it is labelled with
// the detector and raises it, a false positive when it raises it without the
// label, a false negative when it is labelled and does not. Goal: precision
// >= 0.99 and recall >= 0.95 for every detector and overall.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "agent/dlp/detectors.h"
#include "agent/dlp/dlp_scanner.h"

namespace rampart::dlp {
namespace {

struct LabelledLine {
  int line_number = 0;
  std::set<std::string> labels;  // detector ids the line must raise
  std::string context;           // json, text, form, header
  std::string text;
};

std::string Unescape(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '\\' || i + 1 == in.size()) {
      out.push_back(in[i]);
      continue;
    }
    const char next = in[++i];
    out.push_back(next == 'n' ? '\n' : next == 't' ? '\t' : next == 'r' ? '\r' : next);
  }
  return out;
}

std::vector<LabelledLine> ReadCorpus(const std::string& path) {
  std::ifstream file(path);
  std::vector<LabelledLine> lines;
  std::string line;
  for (int number = 1; std::getline(file, line); ++number) {
    if (line.empty() || line[0] == '#') continue;
    const size_t tab1 = line.find('\t');
    const size_t tab2 = tab1 == std::string::npos ? std::string::npos : line.find('\t', tab1 + 1);
    if (tab2 == std::string::npos) {
      ADD_FAILURE() << path << ":" << number << ": not three tab-separated fields";
      continue;
    }
    LabelledLine entry;
    entry.line_number = number;
    std::stringstream labels(line.substr(0, tab1));
    for (std::string label; std::getline(labels, label, ',');) {
      if (label != "-") entry.labels.insert(label);
    }
    entry.context = line.substr(tab1 + 1, tab2 - tab1 - 1);
    entry.text = Unescape(std::string_view(line).substr(tab2 + 1));
    lines.push_back(std::move(entry));
  }
  return lines;
}

// The message a line stands for: JSON and text are response bodies, forms
// are request bodies, headers are request headers.
http::Message MessageFor(const LabelledLine& line) {
  http::Message m;
  if (line.context == "json" || line.context == "text") {
    m.is_request = false;
    m.status = 200;
    m.headers.push_back({"content-type", line.context == "json" ? "application/json" : "text/plain; charset=utf-8"});
    m.body = line.text;
  } else if (line.context == "form") {
    m.is_request = true;
    m.method = "POST";
    m.target = "/submit";
    m.headers.push_back({"content-type", "application/x-www-form-urlencoded"});
    m.body = line.text;
  } else if (line.context == "header") {
    m.is_request = true;
    m.method = "GET";
    m.target = "/";
    const size_t colon = line.text.find(':');
    std::string name = line.text.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const size_t value = line.text.find_first_not_of(' ', colon + 1);
    m.headers.push_back({name, value == std::string::npos ? "" : line.text.substr(value)});
  } else {
    ADD_FAILURE() << "line " << line.line_number << ": unknown context '" << line.context << "'";
  }
  return m;
}

struct Counts {
  size_t tp = 0, fp = 0, fn = 0;
  double Precision() const { return tp + fp == 0 ? 1.0 : static_cast<double>(tp) / static_cast<double>(tp + fp); }
  double Recall() const { return tp + fn == 0 ? 1.0 : static_cast<double>(tp) / static_cast<double>(tp + fn); }
};

constexpr double kPrecisionGoal = 0.99;
constexpr double kRecallGoal = 0.95;
constexpr size_t kMinPositivesPerDetector = 40;

TEST(LabelledCorpusTest, EveryDetectorReachesThePrecisionAndRecallGoals) {
  const std::vector<LabelledLine> corpus = ReadCorpus(RAMPART_DLP_LABELLED_CORPUS);
  ASSERT_GT(corpus.size(), 2000u) << "labelled corpus missing or truncated";
  auto scanner = DlpScanner::Create({});
  ASSERT_TRUE(scanner.ok()) << scanner.status();

  std::vector<std::string> detectors;
  for (size_t i = 0; i < kDetectorCount; ++i) {
    detectors.emplace_back(InfoOf(static_cast<Detector>(i)).finding_name);
  }
  std::map<std::string, Counts> counts;
  std::map<std::string, std::vector<std::string>> mistakes;  // detector -> "FP line 12: ..."
  for (const LabelledLine& line : corpus) {
    for (const std::string& label : line.labels) {
      ASSERT_NE(std::find(detectors.begin(), detectors.end(), label), detectors.end())
          << "line " << line.line_number << ": unknown detector '" << label << "'";
    }
    const std::vector<findings::Finding> found = (*scanner)->Scan(MessageFor(line));
    std::map<std::string, const findings::Finding*> raised;
    for (const findings::Finding& f : found) raised.emplace(f.detector, &f);
    for (const std::string& detector : detectors) {
      const bool expected = line.labels.count(detector) > 0;
      auto it = raised.find(detector);
      Counts& c = counts[detector];
      if (expected && it != raised.end()) {
        ++c.tp;
      } else if (it != raised.end()) {
        ++c.fp;
        mistakes[detector].push_back("FP line " + std::to_string(line.line_number) + " (" + line.context +
                                     "): " + it->second->location + ", " + it->second->reason);
      } else if (expected) {
        ++c.fn;
        mistakes[detector].push_back("FN line " + std::to_string(line.line_number) + " (" + line.context + ")");
      }
    }
  }

  Counts total;
  std::printf("%-30s %5s %4s %4s %9s %7s\n", "detector", "TP", "FP", "FN", "precision", "recall");
  for (const std::string& detector : detectors) {
    const Counts& c = counts[detector];
    total.tp += c.tp;
    total.fp += c.fp;
    total.fn += c.fn;
    std::printf("%-30s %5zu %4zu %4zu %9.4f %7.4f\n", detector.c_str(), c.tp, c.fp, c.fn, c.Precision(), c.Recall());
  }
  std::printf("%-30s %5zu %4zu %4zu %9.4f %7.4f\n", "all (micro-average)", total.tp, total.fp, total.fn,
              total.Precision(), total.Recall());
  std::printf("%zu lines\n", corpus.size());

  for (const std::string& detector : detectors) {
    const Counts& c = counts[detector];
    EXPECT_GE(c.tp + c.fn, kMinPositivesPerDetector) << detector << ": too few labelled positives to measure";
    EXPECT_GE(c.Precision(), kPrecisionGoal) << detector;
    EXPECT_GE(c.Recall(), kRecallGoal) << detector;
    if (c.fp + c.fn > 0) {
      for (const std::string& m : mistakes[detector]) std::printf("  %s %s\n", detector.c_str(), m.c_str());
    }
  }
  EXPECT_GE(total.Precision(), kPrecisionGoal);
  EXPECT_GE(total.Recall(), kRecallGoal);
  EXPECT_EQ((*scanner)->scan_errors(), 0u);
}

}  // namespace
}  // namespace rampart::dlp
