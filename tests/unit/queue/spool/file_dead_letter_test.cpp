// The file dead-letter's erasure and replay: matching records leave every file of the site
// (replayed leftovers too), others stay byte for byte, a Take changes nothing unless its
// commit succeeds, and a Put waiting meanwhile loses nothing.
#include "queue/spool/file_dead_letter.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <filesystem>
#include <fstream>

#include <thread>
#include <vector>

#include "temp_dir.h"

namespace oceanus::queue {
namespace {

std::string Slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(FileDeadLetterTest, EraseRemovesMatchingRecordsFromEveryFileOfTheSite) {
  oceanus::testing::ScopedTempDir temp("oceanus-dead");
  const std::string dir = (temp.path() / "deadletter").string();
  FileDeadLetter dead(dir);
  ASSERT_TRUE(
      dead.Put("shop", {{R"({"uid":"alice","n":1})", "bad n"}, {R"({"uid":"bob","n":2})", "bad n"}})
          .ok());
  ASSERT_TRUE(dead.Put("shop_eu", {{R"({"uid":"alice"})", "x"}}).ok());
  std::filesystem::rename(dir + "/shop.jsonl", dir + "/shop.jsonl.replayed-20261203T000000Z");
  ASSERT_TRUE(dead.Put("shop", {{R"({"uid":"alice","n":3})", "bad n"}}).ok());
  const auto is_alice = [](std::string_view record) {
    return record.find("\"alice\"") != std::string_view::npos;
  };

  auto counted = dead.Erase("shop", is_alice, /*count_only=*/true);
  ASSERT_TRUE(counted.ok()) << counted.status().ToString();
  EXPECT_EQ(*counted, 2);
  auto erased = dead.Erase("shop", is_alice, false);
  ASSERT_TRUE(erased.ok()) << erased.status().ToString();
  EXPECT_EQ(*erased, 2);
  EXPECT_EQ(Slurp(dir + "/shop.jsonl"), "");
  const std::string replayed = Slurp(dir + "/shop.jsonl.replayed-20261203T000000Z");
  EXPECT_EQ(replayed.find("alice"), std::string::npos) << replayed;
  EXPECT_NE(replayed.find(R"({\"uid\":\"bob\",\"n\":2})"), std::string::npos) << replayed;
  EXPECT_NE(Slurp(dir + "/shop_eu.jsonl").find("alice"), std::string::npos);  // another site
  EXPECT_EQ(*FileDeadLetter(temp.path() / "none").Erase("shop", is_alice, false), 0);
}

TEST(FileDeadLetterTest, PutsDuringAnEraseAreAllKept) {
  oceanus::testing::ScopedTempDir temp("oceanus-dead");
  const std::string dir = (temp.path() / "deadletter").string();
  FileDeadLetter dead(dir);
  ASSERT_TRUE(dead.Put("shop", {{R"({"uid":"alice"})", "x"}}).ok());
  constexpr int kPuts = 300;
  std::thread writer([&] {
    FileDeadLetter own(dir);
    for (int i = 0; i < kPuts; ++i)
      ASSERT_TRUE(own.Put("shop", {{R"({"uid":"u)" + std::to_string(i) + "\"}", "x"}}).ok());
  });
  long long erased = 0;
  for (int i = 0; i < 50; ++i) {
    auto n = dead.Erase(
        "shop", [](std::string_view r) { return r.find("alice") != r.npos; }, false);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    erased += *n;
    ASSERT_TRUE(dead.Put("shop", {{R"({"uid":"alice"})", "x"}}).ok());
  }
  writer.join();
  const std::string text = Slurp(dir + "/shop.jsonl");
  for (int i = 0; i < kPuts; ++i)
    EXPECT_NE(text.find("u" + std::to_string(i) + "\\\""), std::string::npos) << "lost u" << i;
  EXPECT_EQ(erased, 50);
}

std::vector<std::string> Records(const std::string& text) {
  std::vector<std::string> records;
  std::string record;
  std::size_t begin = 0;
  for (std::size_t nl; (nl = text.find('\n', begin)) != std::string::npos; begin = nl + 1)
    records.push_back(RecordOfLine(text.substr(begin, nl - begin), record) ? record : "?");
  return records;
}

TEST(FileDeadLetterTest, TakeMovesThePickedLinesOnlyOnceCommitted) {
  oceanus::testing::ScopedTempDir temp("oceanus-dead");
  const std::string dir = (temp.path() / "deadletter").string();
  FileDeadLetter dead(dir);
  ASSERT_TRUE(dead.Put("shop", {{"a", "x"}, {"b", "x"}, {"c", "x"}, {"d", "x"}}).ok());
  std::string record;
  const auto b_and_d = [&](std::string_view line) -> Result<bool> {
    return RecordOfLine(line, record) && (record == "b" || record == "d");
  };
  const std::string before = Slurp(dir + "/shop.jsonl");
  auto refused = dead.Take(
      "shop", b_and_d, [] { return Status::IoError("queue down"); }, dir + "/copy");
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(Slurp(dir + "/shop.jsonl"), before);
  EXPECT_FALSE(std::filesystem::exists(dir + "/copy"));

  int commits = 0;
  auto taken = dead.Take(
      "shop", b_and_d, [&] { return ++commits, Status::Ok(); }, dir + "/copy");
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  EXPECT_EQ(*taken, 2);
  EXPECT_EQ(commits, 1);
  EXPECT_EQ(Records(Slurp(dir + "/shop.jsonl")), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(Records(Slurp(dir + "/copy")), (std::vector<std::string>{"b", "d"}));

  // Everything taken: the file goes; none there: nothing to take.
  auto rest = dead.Take(
      "shop", [](std::string_view) -> Result<bool> { return true; }, nullptr, "");
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(*rest, 2);
  EXPECT_FALSE(std::filesystem::exists(dir + "/shop.jsonl"));
  EXPECT_EQ(*dead.Take("shop", b_and_d, nullptr, ""), 0);
}

// Whether a process waits for the flock of the file with inode `ino` (/proc/locks lists a
// blocked request as "N: -> FLOCK … <major>:<minor>:<inode> …").
bool FlockWaitedFor(ino_t ino) {
  std::ifstream locks("/proc/locks");
  const std::string suffix = ":" + std::to_string(ino) + " ";
  for (std::string line; std::getline(locks, line);)
    if (line.find("-> FLOCK") != std::string::npos && line.find(suffix) != std::string::npos)
      return true;
  return false;
}

// A replayed record the loader refuses again is put while the replay still holds the file:
// the Put waits for the Take, and its line, the same record, stays in the file.
TEST(FileDeadLetterTest, APutDuringATakeWaitsAndIsKept) {
  oceanus::testing::ScopedTempDir temp("oceanus-dead");
  const std::string dir = (temp.path() / "deadletter").string();
  FileDeadLetter dead(dir);
  ASSERT_TRUE(dead.Put("shop", {{"a", "x"}, {"b", "x"}}).ok());
  struct stat st {};
  ASSERT_EQ(::stat((dir + "/shop.jsonl").c_str(), &st), 0);
  std::thread loader;
  const auto commit = [&] {
    loader = std::thread([&] { EXPECT_TRUE(FileDeadLetter(dir).Put("shop", {{"b", "y"}}).ok()); });
    while (!FlockWaitedFor(st.st_ino)) std::this_thread::yield();
    return Status::Ok();
  };
  std::string record;
  auto taken = dead.Take(
      "shop",
      [&](std::string_view line) -> Result<bool> {
        return RecordOfLine(line, record) && record == "b";
      },
      commit, "");
  loader.join();
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  EXPECT_EQ(*taken, 1);
  EXPECT_EQ(Records(Slurp(dir + "/shop.jsonl")), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace oceanus::queue
