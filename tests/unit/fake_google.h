// The local fake of Google's token endpoint, metadata server and BigQuery
// (tests/fakes/fake_google.py) as a child process with a fresh RSA key pair.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "util/http_client.h"

namespace oceanus::testing {

inline constexpr const char* kEmail = "loader@oceanus-test.iam.gserviceaccount.com";

inline std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline std::string JsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// The fake as a child process: started with a fresh RSA key pair, stopped by PID.
class FakeGoogle {
 public:
  FakeGoogle(const std::filesystem::path& dir, int ttl_seconds) {
    key_ = dir / "key.pem";
    const auto pub = dir / "pub.pem";
    const std::string gen = "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " +
                            key_.string() + " 2>/dev/null && openssl pkey -in " + key_.string() +
                            " -pubout -out " + pub.string();
    EXPECT_EQ(std::system(gen.c_str()), 0);
    int out[2];
    EXPECT_EQ(::pipe(out), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      const std::string script = std::string(OCEANUS_SOURCE_DIR) + "/tests/fakes/fake_google.py";
      const std::string ttl = std::to_string(ttl_seconds);
      ::execl("/usr/bin/python3", "python3", script.c_str(), "--public-key", pub.c_str(), "--email",
              kEmail, "--ttl", ttl.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    FILE* f = ::fdopen(out[0], "r");
    int port = 0, grpc_port = 0;
    EXPECT_EQ(std::fscanf(f, "%d storage_write %d", &port, &grpc_port), 2);
    std::fclose(f);
    base_ = "http://127.0.0.1:" + std::to_string(port);
    storage_endpoint_ = "127.0.0.1:" + std::to_string(grpc_port);
  }
  ~FakeGoogle() {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  // A service-account key file for this fake's key pair.
  std::string WriteKeyFile(const std::filesystem::path& path, const std::string& pem) const {
    std::ofstream(path)
        << R"({"type":"service_account","project_id":"oceanus-test","private_key_id":"k1",)"
        << R"("private_key":")" << JsonEscape(pem) << R"(","client_email":")" << kEmail
        << R"(","token_uri":")" << base_ << R"(/token"})";
    return path.string();
  }
  // POST /_inject: the next `n` BigQuery calls fail with `status`.
  void Inject(int n, int status, int retry_after = -1) const {
    std::string body =
        "{\"fail_next\":" + std::to_string(n) + ",\"status\":" + std::to_string(status);
    if (retry_after >= 0) body += ",\"retry_after\":" + std::to_string(retry_after);
    body += "}";
    EXPECT_TRUE(HttpFetch({"POST",
                           base_ + "/_inject",
                           {{"Content-Type", "application/json"}},
                           body,
                           std::chrono::seconds(5)})
                    .ok());
  }
  // POST /_inject with `json` as the whole body (e.g. {"streaming_buffer": T, "seconds": S}).
  void InjectJson(const std::string& json) const {
    EXPECT_TRUE(HttpFetch({"POST",
                           base_ + "/_inject",
                           {{"Content-Type", "application/json"}},
                           json,
                           std::chrono::seconds(5)})
                    .ok());
  }
  // POST /_inject {"target":"storage_write", …}: `json` is the rest of the object's members.
  void InjectStorage(const std::string& json) const {
    InjectJson("{\"target\":\"storage_write\"," + json + "}");
  }
  // GET /_storage_write: streams and call counters of the Storage Write API fake.
  std::string StorageWrite() const {
    auto r = HttpFetch({"GET", base_ + "/_storage_write", {}, "", std::chrono::seconds(5)});
    return r.ok() ? r->body : "";
  }
  std::string Tables() const {
    auto r = HttpFetch({"GET", base_ + "/_tables", {}, "", std::chrono::seconds(5)});
    return r.ok() ? r->body : "";
  }
  // GET /_stats: counters and the last jobs.query body ("last_query").
  std::string Stats() const {
    auto r = HttpFetch({"GET", base_ + "/_stats", {}, "", std::chrono::seconds(5)});
    return r.ok() ? r->body : "";
  }
  int Issued() const {
    auto r = HttpFetch({"GET", base_ + "/_stats", {}, "", std::chrono::seconds(5)});
    return r.ok() ? std::atoi(r->body.substr(r->body.find(':') + 1).c_str()) : -1;
  }
  const std::filesystem::path& key() const { return key_; }
  const std::string& base() const { return base_; }
  const std::string& storage_endpoint() const { return storage_endpoint_; }

 private:
  pid_t pid_ = -1;
  std::filesystem::path key_;
  std::string base_;
  std::string storage_endpoint_;
};

}  // namespace oceanus::testing
