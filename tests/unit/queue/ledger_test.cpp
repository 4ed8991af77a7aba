// The two ledgers (queue/ledger.h) behave alike: put-if-absent keeps the first value, replace
// is a compare-and-set, erase forgets; the file ledger keeps what was put across a reopen,
// drops a torn last line and compacts itself; the Redis one is shared by two connections.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "queue/redis/redis_ledger.h"
#include "queue/spool/file_ledger.h"
#include "redis_server.h"
#include "temp_dir.h"

namespace oceanus::queue {
namespace {

using Keys = std::vector<std::string>;

// The contract every ledger keeps.
void ExpectLedgerContract(Ledger& ledger) {
  auto put = ledger.PutIfAbsent(Keys{"e1", "e2"}, Keys{"s 0", "s 1"});
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(*put, (Keys{"s 0", "s 1"}));
  // e1 has a value: it is kept and answered; e3 is new.
  put = ledger.PutIfAbsent(Keys{"e1", "e3"}, Keys{"t 0", "t 1"});
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(*put, (Keys{"s 0", "t 1"}));
  // Replace only where the value is still the expected one.
  auto replaced = ledger.Replace(Keys{"e1", "e2"}, Keys{"s 0", "x 9"}, Keys{"u 0", "u 1"});
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(*replaced, (Keys{"u 0", "s 1"}));
  ASSERT_TRUE(ledger.Erase(Keys{"e2"}).ok());
  auto got = ledger.Get(Keys{"e1", "e2", "e3", "e4"});
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 4u);
  EXPECT_EQ((*got)[0], "u 0");
  EXPECT_FALSE((*got)[1].has_value());
  EXPECT_EQ((*got)[2], "t 1");
  EXPECT_FALSE((*got)[3].has_value());
}

TEST(FileLedgerTest, KeepsTheContractAndWhatWasPutAcrossAReopen) {
  testing::ScopedTempDir dir("ledger");
  {
    auto ledger = FileLedger::Open(dir.path().string() + "/ledger", "bq");
    ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
    ExpectLedgerContract(**ledger);
  }
  auto again = FileLedger::Open(dir.path().string() + "/ledger", "bq");
  ASSERT_TRUE(again.ok());
  auto got = (*again)->Get(Keys{"e1", "e2", "e3"});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)[0], "u 0");
  EXPECT_FALSE((*got)[1].has_value());
  EXPECT_EQ((*got)[2], "t 1");
}

TEST(FileLedgerTest, DropsATornLastLineAndRefusesValuesThatAreNotOneField) {
  testing::ScopedTempDir dir("ledger");
  const std::string sub = dir.path().string() + "/ledger";
  std::filesystem::create_directories(sub);
  {
    std::ofstream out(sub + "/bq.log");
    out << "+a\ts 1\n+b\ts 2";  // b's line was cut by a crash
  }
  auto ledger = FileLedger::Open(sub, "bq");
  ASSERT_TRUE(ledger.ok());
  auto got = (*ledger)->Get(Keys{"a", "b"});
  EXPECT_EQ((*got)[0], "s 1");
  EXPECT_FALSE((*got)[1].has_value());
  // The next line starts on a line of its own.
  ASSERT_TRUE((*ledger)->PutIfAbsent(Keys{"c"}, Keys{"s 3"}).ok());
  ledger = FileLedger::Open(sub, "bq");
  got = (*ledger)->Get(Keys{"a", "b", "c"});
  EXPECT_EQ((*got)[0], "s 1");
  EXPECT_EQ((*got)[2], "s 3");
  auto bad = (*ledger)->PutIfAbsent(Keys{"d"}, Keys{"two\nlines"});
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
}

TEST(FileLedgerTest, CompactsOnceMostOfItsLinesAreErased) {
  testing::ScopedTempDir dir("ledger");
  const std::string sub = dir.path().string() + "/ledger";
  auto ledger = FileLedger::Open(sub, "bq");
  ASSERT_TRUE(ledger.ok());
  for (int round = 0; round < 30; ++round) {
    Keys keys, values;
    for (int i = 0; i < 1000; ++i) {
      keys.push_back("r" + std::to_string(round) + "-" + std::to_string(i));
      values.push_back("s " + std::to_string(i));
    }
    ASSERT_TRUE((*ledger)->PutIfAbsent(keys, values).ok());
    ASSERT_TRUE((*ledger)->Erase(keys).ok());
  }
  ASSERT_TRUE((*ledger)->PutIfAbsent(Keys{"kept"}, Keys{"s 1"}).ok());
  // 60,000 lines were written; compaction keeps the file far below that.
  std::ifstream in(sub + "/bq.log");
  std::size_t lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  EXPECT_LT(lines, 25'000u);
  auto reopened = FileLedger::Open(sub, "bq");
  EXPECT_EQ((*reopened)->size(), 1u);
  EXPECT_EQ((*(*reopened)->Get(Keys{"kept"}))[0], "s 1");
}

TEST(RedisLedgerTest, KeepsTheContractAndIsSharedByItsUsers) {
  testing::RedisServer server;
  redis::RedisConfig config;
  config.port = server.port();
  config.prefix = "t:";
  ASSERT_NE(server.Connect(config), nullptr) << "redis-server did not start";
  redis::RedisLedger ledger(config, "bq");
  ExpectLedgerContract(ledger);
  redis::RedisLedger other(config, "bq");  // another loader
  auto got = other.Get(Keys{"e1", "e3"});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)[0], "u 0");
  auto put = other.PutIfAbsent(Keys{"e3"}, Keys{"v 0"});
  EXPECT_EQ((*put)[0], "t 1");
  auto conn = server.Connect(config);
  auto type = conn->Command({"TYPE", "t:ledger/bq"});
  EXPECT_EQ(oceanus::redis::ReplyString(type->get()), "hash");
}

}  // namespace
}  // namespace oceanus::queue
