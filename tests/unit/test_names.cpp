#include "hubstress/hub/users.hpp"

#include <gtest/gtest.h>

using namespace hubstress;

TEST(NamePattern, MatchesOnlyPrefixDashDigits) {
  EXPECT_EQ(stress_test_number("hub-stress-test-1"), "1");
  EXPECT_EQ(stress_test_number("hub-stress-test-0042"), "42");
  EXPECT_EQ(stress_test_number("hub-stress-test-0"), "0");
  EXPECT_FALSE(is_stress_test_user("hub-stress-tester"));
  EXPECT_FALSE(is_stress_test_user("hub-stress-test-admin"));
  EXPECT_FALSE(is_stress_test_user("hub-stress-test-"));
  EXPECT_FALSE(is_stress_test_user("hub-stress-test"));
  EXPECT_FALSE(is_stress_test_user("hub-stress-test-1a"));
  EXPECT_FALSE(is_stress_test_user("hub-stress-test-1-2"));
  EXPECT_FALSE(is_stress_test_user("xhub-stress-test-1"));
  EXPECT_FALSE(is_stress_test_user("alice"));
  EXPECT_FALSE(is_stress_test_user("hub-stress-test_5"));
  EXPECT_FALSE(is_stress_test_user("hub-stress-test.5"));
  EXPECT_FALSE(is_stress_test_user("hub-stress-test05"));
}

// Whatever the tool creates, its matcher matches: numbers have no length limit.
TEST(NamePattern, NumbersOfAnyLengthMatch) {
  EXPECT_EQ(stress_test_number("hub-stress-test-999999999999999999"), "999999999999999999");
  EXPECT_EQ(stress_test_number("hub-stress-test-1000000000000000000"), "1000000000000000000");
  EXPECT_EQ(stress_test_number("hub-stress-test-123456789012345678901234567890"), "123456789012345678901234567890");
}

TEST(NamePattern, NumbersCompareAsNumbers) {
  EXPECT_TRUE(number_less("9", "10"));
  EXPECT_FALSE(number_less("10", "9"));
  EXPECT_TRUE(number_less("999999999999999999", "1000000000000000000"));
  EXPECT_FALSE(number_less("7", "7"));
  EXPECT_TRUE(number_less("123", "124"));
}

TEST(NamePattern, AddsToNumbersOfAnyLength) {
  EXPECT_EQ(number_plus("0", 1), "1");
  EXPECT_EQ(number_plus("99", 1), "100");
  EXPECT_EQ(number_plus("5", 1000), "1005");
  EXPECT_EQ(number_plus("999999999999999999", 1), "1000000000000000000");
  EXPECT_EQ(number_plus("18446744073709551615", 1), "18446744073709551616");  // past 2^64
}

TEST(NamePattern, ConfigurablePrefix) {
  EXPECT_EQ(stress_test_number("load-7", "load"), "7");
  EXPECT_FALSE(is_stress_test_user("hub-stress-test-7", "load"));
}

TEST(NamePattern, ValidatesPrefix) {
  EXPECT_NO_THROW(validate_prefix("hub-stress-test"));
  EXPECT_NO_THROW(validate_prefix("load2"));
  EXPECT_NO_THROW(validate_prefix("course-bench"));
  EXPECT_THROW(validate_prefix("user"), std::invalid_argument);     // user-1 is somebody
  EXPECT_THROW(validate_prefix("student"), std::invalid_argument);
  EXPECT_THROW(validate_prefix(""), std::invalid_argument);
  EXPECT_THROW(validate_prefix("Hub"), std::invalid_argument);
  EXPECT_THROW(validate_prefix("a*"), std::invalid_argument);
  EXPECT_THROW(validate_prefix("-test"), std::invalid_argument);
  EXPECT_THROW(validate_prefix("test-"), std::invalid_argument);
}

TEST(Numbering, StartsAtOneOnAnEmptyHub) {
  EXPECT_EQ(next_user_names({}, 3), (std::vector<std::string>{"hub-stress-test-1", "hub-stress-test-2", "hub-stress-test-3"}));
}

TEST(Numbering, ContinuesAfterTheHighestNotTheCount) {
  const std::vector<std::string> existing{"hub-stress-test-2", "hub-stress-test-7", "alice", "hub-stress-test-admin"};
  EXPECT_EQ(next_user_names(existing, 2), (std::vector<std::string>{"hub-stress-test-8", "hub-stress-test-9"}));
}

TEST(Numbering, ContinuesPastEighteenDigitsAndTheNewNamesStillMatch) {
  const auto names = next_user_names({"hub-stress-test-999999999999999999", "hub-stress-test-5"}, 2);
  ASSERT_EQ(names, (std::vector<std::string>{"hub-stress-test-1000000000000000000", "hub-stress-test-1000000000000000001"}));
  for (const auto& n : names) EXPECT_TRUE(is_stress_test_user(n)) << n;
}

TEST(Numbering, TakesTheHighestNotTheLastNorTheLongestString) {
  // ascending order would hide numbering from the last name; "9" > "10" as strings
  EXPECT_EQ(next_user_names({"hub-stress-test-10", "hub-stress-test-9"}, 1), std::vector<std::string>{"hub-stress-test-11"});
  EXPECT_EQ(next_user_names({"hub-stress-test-12", "hub-stress-test-3"}, 1), std::vector<std::string>{"hub-stress-test-13"});
}

TEST(Numbering, IgnoresOtherPrefixes) {
  EXPECT_EQ(next_user_names({"hub-stress-test-50"}, 1, "load"), std::vector<std::string>{"load-1"});
}

TEST(Batches, LastBatchIsSmaller) {
  const auto names = next_user_names({}, 15);
  const auto batches = split_batches(names, 10);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].size(), 10u);
  EXPECT_EQ(batches[1].size(), 5u);
  EXPECT_EQ(batches[1].front(), "hub-stress-test-11");
}

TEST(Batches, ExactMultipleAndOneByOne) {
  EXPECT_EQ(split_batches(next_user_names({}, 20), 10).size(), 2u);
  EXPECT_EQ(split_batches(next_user_names({}, 3), 1).size(), 3u);
  EXPECT_TRUE(split_batches({}, 5).empty());
  EXPECT_THROW(split_batches({"a"}, 0), std::invalid_argument);
}

TEST(Scopes, FullServiceTokenLacksNothing) {
  const auto model = nlohmann::json::parse(R"({"kind": "service", "scopes": ["admin:servers", "admin:users",
      "delete:servers", "delete:users", "list:users", "read:servers", "read:users", "servers", "users",
      "users:activity"]})");
  for (const char* command : {"purge", "stress-test", "activity-stress-test"}) {
    EXPECT_TRUE(missing_scopes(model, command).empty()) << command;
  }
}

TEST(Scopes, NamesWhatIsMissingPerCommand) {
  const auto model = nlohmann::json::parse(R"({"scopes": ["list:users", "read:users", "servers!user=alice"]})");
  EXPECT_EQ(missing_scopes(model, "purge"), (std::vector<std::string>{"read:servers", "servers", "delete:users"}));
  EXPECT_EQ(missing_scopes(model, "stress-test"),
            (std::vector<std::string>{"read:servers", "servers", "delete:users", "admin:users"}));
  EXPECT_EQ(missing_scopes(model, "activity-stress-test"),
            (std::vector<std::string>{"read:servers", "servers", "delete:users", "admin:users", "users:activity"}));
}

TEST(Scopes, OldHubsWithoutScopesAreNotJudged) {
  EXPECT_TRUE(missing_scopes(nlohmann::json::parse(R"({"name": "admin", "admin": true})"), "purge").empty());
  EXPECT_TRUE(missing_scopes(nlohmann::json::parse("[]"), "purge").empty());
}

// README: "exactly `hub-stress-test-<digits>`": the separator is a dash and nothing else.
TEST(NamePattern, TheSeparatorIsADashOnly) {
  for (const char* lookalike : {"hub-stress-test_5", "hub-stress-test.5", "hub-stress-test05", "hub-stress-test 5",
                                "hub-stress-test+5", "hub-stress-test--5", "hub-stress-test/5"}) {
    EXPECT_FALSE(is_stress_test_user(lookalike)) << lookalike;
    EXPECT_FALSE(stress_test_number(lookalike).has_value()) << lookalike;
  }
  EXPECT_FALSE(is_stress_test_user("load_7", "load"));
  EXPECT_FALSE(is_stress_test_user("load7", "load"));
  EXPECT_EQ(stress_test_number("hub-stress-test-5"), "5");
}

TEST(NamePattern, TheWholePrefixMustMatch) {
  EXPECT_FALSE(is_stress_test_user("hub-stress-tesx-5"));
  EXPECT_FALSE(is_stress_test_user("Hub-stress-test-5"));
  EXPECT_FALSE(is_stress_test_user("ub-stress-test-5"));
  EXPECT_FALSE(is_stress_test_user("hub-stress-test-5 "));
  EXPECT_FALSE(is_stress_test_user("hub-stress-test--1"));
}

// The hub lists users in the order they were made, not by number: the highest N wins wherever it is.
TEST(Numbering, HighestWinsInAnyOrder) {
  EXPECT_EQ(next_user_names({"hub-stress-test-9", "hub-stress-test-3"}, 1), std::vector<std::string>{"hub-stress-test-10"});
  EXPECT_EQ(next_user_names({"hub-stress-test-4", "hub-stress-test-12", "hub-stress-test-7"}, 2),
            (std::vector<std::string>{"hub-stress-test-13", "hub-stress-test-14"}));
  // numbers, not text: "9" sorts after "10" as text
  EXPECT_EQ(next_user_names({"hub-stress-test-10", "hub-stress-test-9"}, 1), std::vector<std::string>{"hub-stress-test-11"});
  // lookalikes with bigger numbers do not count
  EXPECT_EQ(next_user_names({"hub-stress-test-2", "hub-stress-test_50", "hub-stress-test.60", "hub-stress-test70"}, 1),
            std::vector<std::string>{"hub-stress-test-3"});
}
