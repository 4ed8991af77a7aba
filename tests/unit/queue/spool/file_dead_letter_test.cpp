// The file dead-letter's erasure: matching records leave every file of the site (replayed
// leftovers too), others stay byte for byte, and a Put waiting meanwhile loses nothing.
#include "queue/spool/file_dead_letter.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

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

}  // namespace
}  // namespace oceanus::queue
