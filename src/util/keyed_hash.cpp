// HMAC-SHA256 over a per-thread EVP digest context; see keyed_hash.h.
#include "util/keyed_hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>

#include <memory>

namespace oceanus {
namespace {

constexpr std::size_t kBlock = 64;  // SHA-256's block size

EVP_MD_CTX* ThreadContext() {
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                                 &EVP_MD_CTX_free);
  return ctx.get();
}

const EVP_MD* Sha256() {
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return kSha256;
}

Sha256Digest Digest(std::initializer_list<std::string_view> parts) {
  EVP_MD_CTX* ctx = ThreadContext();
  EVP_DigestInit_ex2(ctx, Sha256(), nullptr);
  for (const std::string_view part : parts) EVP_DigestUpdate(ctx, part.data(), part.size());
  Sha256Digest out{};
  EVP_DigestFinal_ex(ctx, out.data(), nullptr);
  return out;
}

}  // namespace

Sha256Digest HmacSha256(std::string_view key, std::initializer_list<std::string_view> parts) {
  std::array<char, kBlock> block{};
  if (key.size() > kBlock) {
    const Sha256Digest hashed = Digest({key});
    std::copy(hashed.begin(), hashed.end(), block.begin());
  } else {
    std::copy(key.begin(), key.end(), block.begin());
  }
  std::array<char, kBlock> pad{};
  for (std::size_t i = 0; i < kBlock; ++i) pad[i] = static_cast<char>(block[i] ^ 0x36);
  EVP_MD_CTX* ctx = ThreadContext();
  EVP_DigestInit_ex2(ctx, Sha256(), nullptr);
  EVP_DigestUpdate(ctx, pad.data(), pad.size());
  for (const std::string_view part : parts) EVP_DigestUpdate(ctx, part.data(), part.size());
  Sha256Digest inner{};
  EVP_DigestFinal_ex(ctx, inner.data(), nullptr);
  for (std::size_t i = 0; i < kBlock; ++i) pad[i] = static_cast<char>(block[i] ^ 0x5c);
  const Sha256Digest out =
      Digest({std::string_view(pad.data(), pad.size()),
              std::string_view(reinterpret_cast<const char*>(inner.data()), inner.size())});
  OPENSSL_cleanse(block.data(), block.size());
  OPENSSL_cleanse(pad.data(), pad.size());
  return out;
}

void AppendHex(const Sha256Digest& digest, std::size_t bytes, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < bytes && i < digest.size(); ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
}

}  // namespace oceanus
