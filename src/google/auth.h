// Google OAuth 2.0 access tokens, shared by every Google client (BigQuery, Sheets).
//
// Two sources, as Google's own client libraries have them:
//  - a service-account JSON key: an RS256-signed JWT (OpenSSL) is exchanged at the key's
//    token_uri (grant type jwt-bearer) for an access token;
//  - on GKE/GCE without a key: the metadata server's token for the instance's account.
// Tokens are cached and refreshed `refresh_before` ahead of expiry. Concurrent callers share
// one refresh: whoever finds the token stale refreshes under the lock while the others wait
// for that same result instead of asking again.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "util/status.h"

namespace oceanus::google {

struct ServiceAccountKey {
  std::string client_email;
  std::string private_key;  // PEM
  std::string private_key_id;
  std::string project_id;  // the project the key was made in
  std::string token_uri = "https://oauth2.googleapis.com/token";
};

// Reads a key file; the error names the file and what is wrong with it.
Result<ServiceAccountKey> LoadServiceAccountKey(const std::string& path);
Result<ServiceAccountKey> ParseServiceAccountKey(const std::string& json,
                                                 const std::string& origin);

// base64url without padding (JWT's encoding).
std::string Base64Url(std::string_view bytes);
// "<b64url header>.<b64url claims>.<b64url RS256 signature>"
Result<std::string> SignJwtRs256(const std::string& pem_private_key, const std::string& header_json,
                                 const std::string& claims_json);

class TokenSource {
 public:
  virtual ~TokenSource() = default;
  // A valid access token, refreshed when it is about to expire. Errors: kInvalidArgument for
  // what a retry cannot fix (bad key, refused grant, wrong scope), kUnavailable otherwise.
  virtual Result<std::string> Token() = 0;
  virtual std::uint64_t refreshes() const = 0;
};

struct TokenOptions {
  std::string scope = "https://www.googleapis.com/auth/bigquery";
  std::chrono::seconds refresh_before{300};
  std::string token_uri_override;  // tests and proxies: replaces the key's token_uri
  std::string metadata_endpoint =
      "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token";
};

// With a key path (or GOOGLE_APPLICATION_CREDENTIALS), a service-account source; otherwise the
// metadata server.
Result<std::unique_ptr<TokenSource>> MakeTokenSource(const std::string& key_path,
                                                     const TokenOptions& options);

// The project to work in when the config names none, found as Google's client libraries find
// it: the service-account key's project_id (key_path, else GOOGLE_APPLICATION_CREDENTIALS);
// without a key, the metadata server's /computeMetadata/v1/project/project-id, asked on the
// host of `token_metadata_endpoint` (TokenOptions::metadata_endpoint).
struct DefaultProject {
  std::string id;
  std::string origin;  // for `oceanus check`: "project_id of the key file /k.json"
};
Result<DefaultProject> FindDefaultProject(const std::string& key_path,
                                          const std::string& token_metadata_endpoint);

}  // namespace oceanus::google
