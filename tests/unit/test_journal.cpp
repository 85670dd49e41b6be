// The run journal (issue 22 items 3, 6, 16): appended, never rewritten; a torn last line skipped;
// an earlier version's journal still read; what purge --run may delete (only names the hub's answer
// proved the run's) and which tokens it revokes (ids only, never values).
#include "hubstress/hub/journal.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace hubstress;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

class JournalTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir = (fs::path(::testing::TempDir()) / ("hst-journal-unit-" + std::to_string(::getpid()))).string();
    fs::remove_all(dir);
  }
  void TearDown() override { fs::remove_all(dir); }

  static std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static ino_t inode(const std::string& path) {
    struct stat st {};
    ::stat(path.c_str(), &st);
    return st.st_ino;
  }
  Journal start() { return Journal::start(dir, "stress-test", "http://127.0.0.1:1/hub/api", "hub-stress-test"); }

  std::string dir;
};

std::vector<std::string> names(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i <= to; ++i) out.push_back("hub-stress-test-" + std::to_string(i));
  return out;
}

} // namespace

TEST_F(JournalTest, AChangeIsAppendedWhateverTheJournalAlreadyHolds) {
  Journal j = start();
  j.mark(names(1, 2000), UserMark::created);
  const std::string before = slurp(j.path());
  const ino_t file = inode(j.path());

  j.mark(names(2001, 2001), UserMark::planned);

  const std::string after = slurp(j.path());
  EXPECT_EQ(inode(j.path()), file) << "the same file, not a new one renamed over it";
  ASSERT_GT(after.size(), before.size());
  EXPECT_EQ(after.substr(0, before.size()), before) << "what was written stays as it was";
  EXPECT_LT(after.size() - before.size(), 100u) << "one change costs its own size, not the journal's";
  const Journal read = Journal::load(dir, j.id());
  EXPECT_EQ(read.users().size(), 2001u);
  EXPECT_EQ(read.users().at("hub-stress-test-2001"), UserMark::planned);
}

TEST_F(JournalTest, ATornLastLineIsSkippedAndTheNextChangeIsReadAfterIt) {
  Journal j = start();
  j.mark(names(1, 2), UserMark::created);
  std::ofstream(j.path(), std::ios::app) << R"({"mark": "deleted", "users": ["hub-stress-t)";  // a crash mid-write

  Journal read = Journal::load(dir, j.id());
  EXPECT_EQ(read.owned(), names(1, 2));
  read.mark(names(2, 2), UserMark::deleted);  // purge --run, later

  const Journal again = Journal::load(dir, j.id());
  EXPECT_EQ(again.owned(), names(1, 1));
  EXPECT_EQ(again.users().at("hub-stress-test-2"), UserMark::deleted);
}

TEST_F(JournalTest, AJournalOfAnEarlierVersionIsReadAndCarriedOn) {
  fs::create_directories(fs::path(dir) / "runs");
  const std::string old = (fs::path(dir) / "runs" / "20261201T000000Z-abcd.json").string();
  std::ofstream(old) << R"({"command": "stress-test", "endpoint": "http://127.0.0.1:1/hub/api", "host": "h", "pid": 1,
 "prefix": "hub-stress-test", "run_id": "20261201T000000Z-abcd", "started": "2026-12-01T00:00:00.000000Z",
 "state": "finished",
 "users": {
  "hub-stress-test-1": "kept",
  "hub-stress-test-2": "planned"
 }
})";
  Journal j = Journal::load(dir, "20261201T000000Z-abcd");
  EXPECT_EQ(j.owned(), names(1, 1));
  EXPECT_EQ(j.unconfirmed(), names(2, 2));
  j.mark(names(1, 1), UserMark::deleted);
  const Journal again = Journal::load(dir, "20261201T000000Z-abcd");
  EXPECT_TRUE(again.owned().empty());
  EXPECT_EQ(again.unconfirmed(), names(2, 2));
  EXPECT_EQ(again.prefix(), "hub-stress-test");
  EXPECT_FALSE(fs::exists(old)) << "carried on in the new format";
}

TEST_F(JournalTest, OnlyNamesTheHubsAnswerProvedAreTheRunsToDelete) {
  Journal j = start();
  j.mark(names(1, 6), UserMark::planned);
  j.mark(names(1, 2), UserMark::created);
  j.mark(names(3, 3), UserMark::unsure);
  j.forget(names(4, 4));
  j.mark(names(2, 2), UserMark::kept);
  j.mark(names(6, 6), UserMark::created);
  j.mark(names(6, 6), UserMark::deleted);
  const Journal read = Journal::load(dir, j.id());
  EXPECT_EQ(read.owned(), names(1, 2));
  EXPECT_EQ(read.unconfirmed(), (std::vector<std::string>{"hub-stress-test-3", "hub-stress-test-5"}));
  EXPECT_EQ(read.users().count("hub-stress-test-4"), 0u);
}

TEST_F(JournalTest, TokensAreJournaledByIdAndGoWithTheirUser) {
  Journal j = start();
  j.mark(names(1, 3), UserMark::created);
  j.tokens_minted({{"hub-stress-test-1", "a11"}, {"hub-stress-test-2", "a12"}, {"hub-stress-test-3", "a13"}});
  j.tokens_revoked({{"hub-stress-test-2", "a12"}});
  j.mark(names(3, 3), UserMark::deleted);  // deleting a user revokes its tokens
  const Journal read = Journal::load(dir, j.id());
  EXPECT_EQ(read.live_tokens(), (std::vector<TokenRef>{{"hub-stress-test-1", "a11"}}));
  // each line holds names and ids, nothing else a token could hide in
  std::istringstream lines(slurp(j.path()));
  std::string line;
  std::getline(lines, line);  // the run itself
  while (std::getline(lines, line)) {
    const json change = json::parse(line);
    for (const char* key : {"minted", "revoked"}) {
      if (!change.contains(key)) continue;
      for (const auto& t : change[key]) {
        EXPECT_EQ(t.size(), 2u) << line;
        EXPECT_TRUE(t.contains("user") && t.contains("id")) << line;
      }
    }
  }
}
