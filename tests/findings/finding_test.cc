#include "agent/findings/finding.h"

#include <gtest/gtest.h>

namespace rampart::findings {
namespace {

TEST(MaskValueTest, KeepsOnlyTheRequestedEndsAndTheLength) {
  EXPECT_EQ(MaskValue("4111111111111111", 0, 4), "************1111");
  EXPECT_EQ(MaskValue("AKIAABCDEFGHIJKLMNOP", 4, 0), "AKIA****************");
}

TEST(MaskValueTest, NeverShowsMoreThanHalfOfAValue) {
  EXPECT_EQ(MaskValue("secret", 2, 2), "******");
  EXPECT_EQ(MaskValue("", 1, 1), "");
}

TEST(ComplianceTagsTest, NamesFollowTheRegimesSpelling) {
  EXPECT_EQ(ComplianceTagNames(kPciDss | kGdpr), (std::vector<std::string>{"PCI-DSS", "GDPR"}));
  EXPECT_TRUE(ComplianceTagNames(0).empty());
}

}  // namespace
}  // namespace rampart::findings
