// The suppression list of erased people: what the file holds (hashes, never values), how a
// running process sees an entry appended by another, and that a damaged file is refused.
#include "event/suppression.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>

#include "temp_dir.h"

namespace oceanus::event {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(SuppressionListTest, AnAddedValueIsFoundAfterRefreshAndNeverWrittenDown) {
  oceanus::testing::ScopedTempDir temp("oceanus-suppress");
  const std::string path = SuppressionList::PathIn(temp.path().string());
  auto store = SuppressionList::FileStore(path);
  SuppressionList list(SuppressionList::FileStore(path));
  ASSERT_TRUE(list.Refresh().ok());  // no file yet: an empty list
  SuppressionList::Snapshot snapshot;
  EXPECT_TRUE(list.Current(snapshot).fields.empty());

  ASSERT_TRUE(SuppressionList::Add(*store, "shop", "uid", "alice@example.com").ok());
  ASSERT_TRUE(SuppressionList::Add(*store, "blog", "sid", "0a1b2c").ok());
  const std::string text = Slurp(path);
  EXPECT_EQ(text.find("alice"), std::string::npos) << text;
  EXPECT_EQ(text.find("0a1b2c"), std::string::npos) << text;
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // The snapshot is stale until the list re-reads the file.
  EXPECT_TRUE(list.Current(snapshot).fields.empty());
  ASSERT_TRUE(list.Refresh().ok());
  const auto& entries = list.Current(snapshot);
  EXPECT_EQ(entries.fields.size(), 2u);
  EXPECT_TRUE(SuppressionList::Contains(entries, "shop", "uid", "alice@example.com"));
  EXPECT_FALSE(SuppressionList::Contains(entries, "shop", "uid", "alice@example.co"));
  EXPECT_FALSE(SuppressionList::Contains(entries, "blog", "uid", "alice@example.com"));  // site
  EXPECT_FALSE(SuppressionList::Contains(entries, "shop", "sid", "alice@example.com"));  // field
  EXPECT_TRUE(SuppressionList::Contains(entries, "blog", "sid", "0a1b2c"));

  // A second list made from the same file (another process) agrees: one key per file.
  SuppressionList other(SuppressionList::FileStore(path));
  ASSERT_TRUE(other.Refresh().ok());
  SuppressionList::Snapshot other_snapshot;
  EXPECT_TRUE(
      SuppressionList::Contains(other.Current(other_snapshot), "shop", "uid", "alice@example.com"));
}

TEST(SuppressionListTest, ADamagedFileIsAnErrorAndTheEntriesReadBeforeStay) {
  oceanus::testing::ScopedTempDir temp("oceanus-suppress");
  const std::string path = SuppressionList::PathIn(temp.path().string());
  auto store = SuppressionList::FileStore(path);
  ASSERT_TRUE(SuppressionList::Add(*store, "shop", "uid", "alice").ok());
  SuppressionList list(SuppressionList::FileStore(path));
  ASSERT_TRUE(list.Refresh().ok());
  std::ofstream(path, std::ios::app) << "shop uid not-hex\n";
  const Status s = list.Refresh();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(path + ":4:"), std::string::npos) << s.message();
  SuppressionList::Snapshot snapshot;
  EXPECT_TRUE(SuppressionList::Contains(list.Current(snapshot), "shop", "uid", "alice"));
  EXPECT_FALSE(SuppressionList::Add(*store, "shop", "uid", "bob").ok());  // not appended blindly

  EXPECT_FALSE(SuppressionList::Parse("something else\n", "f").ok());
  EXPECT_FALSE(SuppressionList::Parse("oceanus-suppression-list 1\nkey 00\n", "f").ok());
  EXPECT_TRUE(SuppressionList::Parse("", "f").ok());
}

}  // namespace
}  // namespace oceanus::event
