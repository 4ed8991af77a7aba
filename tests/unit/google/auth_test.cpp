// The real token client against tests/fakes/fake_google.py, which verifies the JWT signature
// with the key's public half and checks iss, aud, scope and lifetimes as Google does.
#include "google/auth.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <thread>

#include "fake_google.h"
#include "temp_dir.h"
#include "util/http_client.h"

namespace oceanus::google {
namespace {

using oceanus::testing::FakeGoogle;
using oceanus::testing::kEmail;
using oceanus::testing::ReadFile;

class AuthTest : public ::testing::Test {
 protected:
  oceanus::testing::ScopedTempDir temp_{"oceanus-auth"};
};

TEST_F(AuthTest, ServiceAccountTokenIsSignedExchangedAndCached) {
  FakeGoogle fake(temp_.path(), 3600);
  const auto key_file = fake.WriteKeyFile(temp_.path() / "sa.json", ReadFile(fake.key()));
  auto source = MakeTokenSource(key_file, {});
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  auto token = (*source)->Token();
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_EQ(*token, "tok-1");
  EXPECT_EQ(*(*source)->Token(), "tok-1");  // cached
  EXPECT_EQ((*source)->refreshes(), 1u);
  EXPECT_EQ(fake.Issued(), 1);
}

TEST_F(AuthTest, TokenIsRefreshedBeforeItExpires) {
  FakeGoogle fake(temp_.path(), 3);
  const auto key_file = fake.WriteKeyFile(temp_.path() / "sa.json", ReadFile(fake.key()));
  TokenOptions options;
  options.refresh_before = std::chrono::seconds(2);  // a 3 s token is stale after 1 s
  auto source = std::move(MakeTokenSource(key_file, options)).value();
  EXPECT_EQ(*source->Token(), "tok-1");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::string token = "tok-1";
  while (token == "tok-1" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    token = *source->Token();
  }
  EXPECT_EQ(token, "tok-2");
  EXPECT_EQ(source->refreshes(), 2u);
}

TEST_F(AuthTest, ConcurrentCallersShareOneRefresh) {
  FakeGoogle fake(temp_.path(), 3600);
  const auto key_file = fake.WriteKeyFile(temp_.path() / "sa.json", ReadFile(fake.key()));
  auto source = std::move(MakeTokenSource(key_file, {})).value();
  std::vector<std::thread> threads;
  std::vector<std::string> tokens(8);
  for (int i = 0; i < 8; ++i) threads.emplace_back([&, i] { tokens[i] = source->Token().value(); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::set<std::string>(tokens.begin(), tokens.end()), std::set<std::string>{"tok-1"});
  EXPECT_EQ(fake.Issued(), 1);
}

TEST_F(AuthTest, RefusalsAreClearAndNotRetryable) {
  FakeGoogle fake(temp_.path(), 3600);
  // A key the fake does not know: the signature does not verify.
  const auto other = temp_.path() / "other.pem";
  ASSERT_EQ(std::system(("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " +
                         other.string() + " 2>/dev/null")
                            .c_str()),
            0);
  auto wrong_key =
      std::move(MakeTokenSource(fake.WriteKeyFile(temp_.path() / "w.json", ReadFile(other)), {}))
          .value();
  auto t = wrong_key->Token();
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(t.status().message().find("answered 400: invalid_grant: Invalid JWT Signature."),
            std::string::npos)
      << t.status().message();
  // A scope the account may not have.
  TokenOptions bad_scope;
  bad_scope.scope = "https://www.googleapis.com/auth/gmail.send";
  auto scoped =
      std::move(MakeTokenSource(fake.WriteKeyFile(temp_.path() / "s.json", ReadFile(fake.key())),
                                bad_scope))
          .value();
  auto s = scoped->Token();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("invalid_scope"), std::string::npos) << s.status().message();
}

TEST_F(AuthTest, BadKeyFilesFailAtStartWithTheReason) {
  EXPECT_NE(MakeTokenSource((temp_.path() / "missing.json").string(), {})
                .status()
                .message()
                .find("cannot read"),
            std::string::npos);
  std::ofstream(temp_.path() / "user.json") << R"({"type":"authorized_user","client_id":"x"})";
  EXPECT_NE(MakeTokenSource((temp_.path() / "user.json").string(), {})
                .status()
                .message()
                .find("not \"service_account\""),
            std::string::npos);
  std::ofstream(temp_.path() / "pem.json")
      << R"({"type":"service_account","client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n"})";
  EXPECT_NE(MakeTokenSource((temp_.path() / "pem.json").string(), {})
                .status()
                .message()
                .find("not a readable PEM"),
            std::string::npos);
}

TEST_F(AuthTest, MetadataServerWhenNoKeyIsGiven) {
  FakeGoogle fake(temp_.path(), 3600);
  ::unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
  TokenOptions options;
  options.metadata_endpoint = fake.base() + "/metadata/token";
  auto source = std::move(MakeTokenSource("", options)).value();
  EXPECT_EQ(*source->Token(), "tok-1");
  options.metadata_endpoint = "http://127.0.0.1:1/unreachable";
  auto down = std::move(MakeTokenSource("", options)).value();
  auto t = down->Token();
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(t.status().retryable());
  EXPECT_NE(t.status().message().find("GOOGLE_APPLICATION_CREDENTIALS"), std::string::npos);
}

TEST(Base64UrlTest, MatchesRfc4648WithoutPadding) {
  EXPECT_EQ(Base64Url(""), "");
  EXPECT_EQ(Base64Url("f"), "Zg");
  EXPECT_EQ(Base64Url("fo"), "Zm8");
  EXPECT_EQ(Base64Url("foo"), "Zm9v");
  EXPECT_EQ(Base64Url("\xfb\xff"), "-_8");
}

// Issue 12 item 16: with no project in the config, the key's project_id is used, as Google's
// client libraries do; without a key, the metadata server's project.
TEST_F(AuthTest, DefaultProjectComesFromTheKeyElseTheMetadataServer) {
  FakeGoogle fake(temp_.path(), 3600);
  ::unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
  const auto key_file = fake.WriteKeyFile(temp_.path() / "sa.json", ReadFile(fake.key()));
  auto from_key = FindDefaultProject(key_file, "http://127.0.0.1:1/unused");
  ASSERT_TRUE(from_key.ok()) << from_key.status().ToString();
  EXPECT_EQ(from_key->id, "oceanus-test");
  EXPECT_EQ(from_key->origin, "the project_id of the key file " + key_file);

  ::setenv("GOOGLE_APPLICATION_CREDENTIALS", key_file.c_str(), 1);
  EXPECT_EQ(FindDefaultProject("", "http://127.0.0.1:1/unused")->id, "oceanus-test");
  ::unsetenv("GOOGLE_APPLICATION_CREDENTIALS");

  auto from_metadata = FindDefaultProject("", fake.base() + "/metadata/token");
  ASSERT_TRUE(from_metadata.ok()) << from_metadata.status().ToString();
  EXPECT_EQ(from_metadata->id, "oceanus-test");
  EXPECT_EQ(from_metadata->origin,
            "the metadata server (" + fake.base() + "/computeMetadata/v1/project/project-id)");

  const auto no_project = temp_.path() / "np.json";
  std::ofstream(no_project)
      << R"({"type":"service_account","client_email":"a@b","private_key":"k"})";
  auto missing = FindDefaultProject(no_project.string(), "");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("has no project_id"), std::string::npos);

  auto nobody = FindDefaultProject("", "http://127.0.0.1:1/computeMetadata/v1/token");
  ASSERT_FALSE(nobody.ok());
  EXPECT_NE(nobody.status().message().find("does not answer"), std::string::npos);
}

}  // namespace
}  // namespace oceanus::google
