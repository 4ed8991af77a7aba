// KeyedHash is SipHash-2-4 with 128-bit output: the reference implementation's test vectors
// (key 00..0f, message 00..len-1), which also pin that the parts are joined without gaps.
#include "util/keyed_hash.h"

#include <gtest/gtest.h>

#include <string>

namespace oceanus {
namespace {

HashKey ReferenceKey() {
  HashKey key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i);
  return key;
}

std::string Hex(const KeyedDigest& d) {
  std::string out;
  AppendHex(d, out);
  return out;
}

TEST(KeyedHash, MatchesSipHash128ReferenceVectors) {
  EXPECT_EQ(Hex(KeyedHash(ReferenceKey(), {})), "a3817f04ba25a8e66df67214c7550293");
  std::string message;
  for (char c = 0; c < 15; ++c) message += c;
  const std::string expected = Hex(KeyedHash(ReferenceKey(), {message}));
  EXPECT_EQ(expected, "5493e99933b0a8117e08ec0f97cfc3d9");
  EXPECT_EQ(Hex(KeyedHash(ReferenceKey(), {message.substr(0, 4), "", message.substr(4)})),
            expected);
}

TEST(KeyedHash, DerivedKeysDependOnEverySecretByte) {
  const HashKey a = DeriveHashKey("a secret of some length");
  EXPECT_EQ(a, DeriveHashKey("a secret of some length"));
  EXPECT_NE(a, DeriveHashKey("a secret of some lengtH"));
  EXPECT_NE(Hex(KeyedHash(a, {"203.0.113.7"})),
            Hex(KeyedHash(DeriveHashKey("another secret"), {"203.0.113.7"})));
}

}  // namespace
}  // namespace oceanus
