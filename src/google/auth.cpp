// Service-account JWTs and token caching; see auth.h.
#include "google/auth.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include "util/log.h"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "util/base64.h"
#include "util/http_client.h"

namespace oceanus::google {
namespace {

using Clock = std::chrono::system_clock;

std::string JsonString(const rapidjson::Value& v, const char* name) {
  auto it = v.FindMember(name);
  return it != v.MemberEnd() && it->value.IsString()
             ? std::string(it->value.GetString(), it->value.GetStringLength())
             : std::string();
}

// Token endpoint / metadata answer → token and lifetime; classifies refusals.
Result<std::pair<std::string, std::chrono::seconds>> ParseTokenAnswer(const HttpResponse& r,
                                                                      const std::string& what) {
  rapidjson::Document doc;
  doc.Parse(r.body.data(), r.body.size());
  if (r.status != 200) {
    std::string detail = r.body.substr(0, 300);
    if (!doc.HasParseError() && doc.IsObject()) {
      const std::string error = JsonString(doc, "error");
      const std::string description = JsonString(doc, "error_description");
      if (!error.empty()) detail = error + (description.empty() ? "" : ": " + description);
    }
    const std::string msg = what + " answered " + std::to_string(r.status) + ": " + detail;
    if (r.status == 400 || r.status == 401 || r.status == 403) return Status::InvalidArgument(msg);
    return Status::Unavailable(msg);
  }
  if (doc.HasParseError() || !doc.IsObject())
    return Status::Unavailable(what + " answered something that is not JSON");
  const std::string token = JsonString(doc, "access_token");
  auto expires = doc.FindMember("expires_in");
  if (token.empty() || expires == doc.MemberEnd() || !expires->value.IsNumber())
    return Status::Unavailable(what + " answered without access_token/expires_in");
  return std::make_pair(token,
                        std::chrono::seconds(static_cast<long long>(expires->value.GetDouble())));
}

// {"alg":"RS256","typ":"JWT","kid":…}: kid names the key when the key file gives its id.
std::string JwtHeader(const std::string& key_id) {
  rapidjson::StringBuffer out;
  rapidjson::Writer<rapidjson::StringBuffer> w(out);
  w.StartObject();
  w.Key("alg");
  w.String("RS256");
  w.Key("typ");
  w.String("JWT");
  if (!key_id.empty()) {
    w.Key("kid");
    w.String(key_id);
  }
  w.EndObject();
  return {out.GetString(), out.GetSize()};
}

// The claims of a token request (RFC 7523): valid from `now` (seconds since the epoch) for
// the hour Google allows at most.
std::string JwtClaims(const std::string& email, const std::string& scope,
                      const std::string& audience, long long now) {
  rapidjson::StringBuffer out;
  rapidjson::Writer<rapidjson::StringBuffer> w(out);
  w.StartObject();
  w.Key("iss");
  w.String(email);
  w.Key("scope");
  w.String(scope);
  w.Key("aud");
  w.String(audience);
  w.Key("iat");
  w.Int64(now);
  w.Key("exp");
  w.Int64(now + 3600);
  w.EndObject();
  return {out.GetString(), out.GetSize()};
}

// Caching shared by both sources: Fetch() is called under the lock when the token is stale.
class CachingSource : public TokenSource {
 public:
  explicit CachingSource(std::chrono::seconds refresh_before) : refresh_before_(refresh_before) {}
  Result<std::string> Token() override {
    std::lock_guard lock(mu_);
    if (!token_.empty() && Clock::now() + refresh_before_ < expires_at_) return token_;
    auto fresh = Fetch();
    if (!fresh.ok()) return fresh.status();
    token_ = fresh->first;
    expires_at_ = Clock::now() + fresh->second;
    ++refreshes_;
    return token_;
  }
  std::uint64_t refreshes() const override {
    std::lock_guard lock(mu_);
    return refreshes_;
  }

 protected:
  virtual Result<std::pair<std::string, std::chrono::seconds>> Fetch() = 0;

 private:
  std::chrono::seconds refresh_before_;
  mutable std::mutex mu_;
  std::string token_;
  Clock::time_point expires_at_{};
  std::uint64_t refreshes_ = 0;
};

class ServiceAccountSource final : public CachingSource {
 public:
  ServiceAccountSource(ServiceAccountKey key, TokenOptions options)
      : CachingSource(options.refresh_before), key_(std::move(key)), options_(std::move(options)) {
    if (!options_.token_uri_override.empty()) key_.token_uri = options_.token_uri_override;
  }

 private:
  Result<std::pair<std::string, std::chrono::seconds>> Fetch() override {
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
    const std::string header = JwtHeader(key_.private_key_id);
    const std::string claims = JwtClaims(key_.client_email, options_.scope, key_.token_uri, now);
    auto jwt = SignJwtRs256(key_.private_key, header, claims);
    if (!jwt.ok()) return jwt.status();
    HttpRequest request;
    request.method = "POST";
    request.url = key_.token_uri;
    request.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    request.body = "grant_type=" + FormEncode("urn:ietf:params:oauth:grant-type:jwt-bearer") +
                   "&assertion=" + FormEncode(*jwt);
    request.timeout = std::chrono::seconds(10);
    auto response = HttpFetch(request);
    if (!response.ok()) return response.status();
    return ParseTokenAnswer(
        *response, "token endpoint " + key_.token_uri + " (for " + key_.client_email + ")");
  }
  ServiceAccountKey key_;
  TokenOptions options_;
};

class MetadataSource final : public CachingSource {
 public:
  explicit MetadataSource(TokenOptions options)
      : CachingSource(options.refresh_before), options_(std::move(options)) {}

 private:
  Result<std::pair<std::string, std::chrono::seconds>> Fetch() override {
    HttpRequest request;
    request.url = options_.metadata_endpoint + "?scopes=" + FormEncode(options_.scope);
    request.headers = {{"Metadata-Flavor", "Google"}};
    request.timeout = std::chrono::seconds(5);
    auto response = HttpFetch(request);
    if (!response.ok()) {
      return Status::Unavailable(
          response.status().message() +
          " (no service-account key was given, and the GCE/GKE metadata server does not "
          "answer: set GOOGLE_APPLICATION_CREDENTIALS or the key path)");
    }
    return ParseTokenAnswer(*response, "metadata server");
  }
  TokenOptions options_;
};

}  // namespace

std::string Base64Url(std::string_view bytes) {
  return EncodeBase64(bytes, Base64Alphabet::kUrlNoPadding);
}

Result<std::string> SignJwtRs256(const std::string& pem, const std::string& header_json,
                                 const std::string& claims_json) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr,
      &EVP_PKEY_free);
  if (!key)
    return Status::InvalidArgument(
        "the service-account private_key is not a readable PEM private key");
  const std::string input = Base64Url(header_json) + "." + Base64Url(claims_json);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  std::size_t length = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
    return Status::InvalidArgument("cannot sign with the service-account key (is it an RSA key?)");
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
    return Status::Internal("RS256 signing failed");
  signature.resize(length);
  return input + "." + Base64Url(signature);
}

Result<ServiceAccountKey> ParseServiceAccountKey(const std::string& json,
                                                 const std::string& origin) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject())
    return Status::InvalidArgument(origin + ": not a JSON key file");
  if (JsonString(doc, "type") != "service_account")
    return Status::InvalidArgument(
        origin + ": \"type\" is not \"service_account\" (is this a service-account key?)");
  ServiceAccountKey key;
  key.client_email = JsonString(doc, "client_email");
  key.private_key = JsonString(doc, "private_key");
  key.private_key_id = JsonString(doc, "private_key_id");
  key.project_id = JsonString(doc, "project_id");
  if (const std::string uri = JsonString(doc, "token_uri"); !uri.empty()) key.token_uri = uri;
  if (key.client_email.empty())
    return Status::InvalidArgument(origin + ": client_email is missing");
  if (key.private_key.empty()) return Status::InvalidArgument(origin + ": private_key is missing");
  return key;
}

Result<ServiceAccountKey> LoadServiceAccountKey(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument(path + ": cannot read the service-account key file");
  std::stringstream text;
  text << in.rdbuf();
  return ParseServiceAccountKey(text.str(), path);
}

namespace {

// The key file to use: the configured one, else GOOGLE_APPLICATION_CREDENTIALS ("" = none).
std::string KeyPath(const std::string& key_path) {
  if (!key_path.empty()) return key_path;
  const char* env = std::getenv("GOOGLE_APPLICATION_CREDENTIALS");
  return env != nullptr ? env : "";
}

// "http://metadata.google.internal/computeMetadata/v1/..." → "http://metadata.google.internal".
std::string UrlOrigin(const std::string& url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  return url.substr(0, url.find('/', scheme + 3));
}

}  // namespace

Result<DefaultProject> FindDefaultProject(const std::string& key_path,
                                          const std::string& token_metadata_endpoint) {
  if (const std::string path = KeyPath(key_path); !path.empty()) {
    auto key = LoadServiceAccountKey(path);
    if (!key.ok()) return key.status();
    if (key->project_id.empty())
      return Status::InvalidArgument(path + " has no project_id: set sink.bigquery.project");
    return DefaultProject{key->project_id, "the project_id of the key file " + path};
  }
  HttpRequest request;
  request.url = UrlOrigin(token_metadata_endpoint) + "/computeMetadata/v1/project/project-id";
  request.headers = {{"Metadata-Flavor", "Google"}};
  request.timeout = std::chrono::seconds(5);
  auto response = HttpFetch(request);
  if (!response.ok() || response->status != 200) {
    return Status::InvalidArgument(
        "no project: sink.bigquery.project is empty, there is no service-account key "
        "(GOOGLE_APPLICATION_CREDENTIALS) and the metadata server at " +
        request.url + " does not answer (" +
        (response.ok() ? "status " + std::to_string(response->status)
                       : response.status().message()) +
        ")");
  }
  std::string id = response->body;
  while (!id.empty() && std::isspace(static_cast<unsigned char>(id.back()))) id.pop_back();
  if (id.empty()) return Status::InvalidArgument(request.url + " answered an empty project id");
  return DefaultProject{id, "the metadata server (" + request.url + ")"};
}

Result<std::unique_ptr<TokenSource>> MakeTokenSource(const std::string& key_path,
                                                     const TokenOptions& options) {
  const std::string path = KeyPath(key_path);
  if (path.empty()) return std::unique_ptr<TokenSource>(std::make_unique<MetadataSource>(options));
  auto key = LoadServiceAccountKey(path);
  if (!key.ok()) return key.status();
  // Fail now, not at the first batch, if the key cannot sign.
  auto probe = SignJwtRs256(key->private_key, "{}", "{}");
  if (!probe.ok()) return Status::InvalidArgument(path + ": " + probe.status().message());
  return std::unique_ptr<TokenSource>(
      std::make_unique<ServiceAccountSource>(std::move(key).value(), options));
}

}  // namespace oceanus::google
