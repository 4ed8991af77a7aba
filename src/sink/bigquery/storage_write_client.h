// A client of the BigQuery Storage Write API (google.cloud.bigquery.storage.v1.BigQueryWrite)
// over gRPC: the calls the bigquery sink makes, each answered in oceanus's terms.
//
// Transport: TLS to Google with the system's roots (/etc/ssl/certs/ca-certificates.crt); to a
// loopback address (a test fake), gRPC's local credentials, which send in plaintext but still
// carry call credentials. The access token (google/auth.h) goes with every call as gRPC call
// credentials ("authorization: Bearer …"); AppendRows also carries the routing header Google
// requires, x-goog-request-params: write_stream=<name>. Every call has a deadline.
//
// One AppendRows call per append: the writer schema goes with every request (Google needs it
// on the first request of a connection), and a call that hangs ends at its deadline without
// holding up the next one. HTTP/2 keeps the TCP connection between calls.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "google/auth.h"
#include "util/status.h"

namespace google::protobuf {
class DescriptorProto;
}

namespace oceanus::sink {

// What an append came to.
struct AppendOutcome {
  enum class Kind {
    kStored,          // the rows are stored
    kAlreadyExists,   // the offset holds rows already (explicit offsets only): nothing stored now
    kOutOfRange,      // the offset is past the stream's end: an earlier append is missing
    kRowErrors,       // some rows are invalid (row_errors); nothing stored
    kStreamGone,      // the stream is finalised, unknown or expired: a new one is needed
    kSchemaMismatch,  // the writer schema has fields the table lacks: reload the table
    kRetry,           // unavailable, overloaded, internal, deadline, credentials: try again later
    kInvalid,         // a request BigQuery refuses as such (too large, bad data)
  };
  struct RowError {
    std::size_t index;  // into the rows of the append
    std::string message;
  };
  Kind kind = Kind::kRetry;
  std::string message;  // with anything but kStored: the status and BigQuery's text
  std::vector<RowError> row_errors;
};

const char* KindName(AppendOutcome::Kind kind);

class StorageWriteClient {
 public:
  struct Options {
    std::string endpoint;  // host:port
    std::chrono::milliseconds timeout{30'000};
  };
  static Result<std::unique_ptr<StorageWriteClient>> Connect(
      const Options& options, std::shared_ptr<google::TokenSource> tokens);
  ~StorageWriteClient();

  // A new COMMITTED stream on `table` ("projects/p/datasets/d/tables/t"); its name.
  Result<std::string> CreateCommittedStream(const std::string& table);
  // Appends `rows` (serialized messages of `schema`) to `stream`, at `offset` when set (not
  // on _default).
  AppendOutcome Append(const std::string& stream, std::optional<std::int64_t> offset,
                       const ::google::protobuf::DescriptorProto& schema,
                       std::span<const std::string> rows);
  // Finalises the stream (idempotent); how many rows it holds. NotFound when it does not
  // exist (any more); Unavailable when it could not be asked.
  Result<std::int64_t> Finalize(const std::string& stream);
  // Whether the stream exists: OK, NotFound, or Unavailable when it could not be asked.
  Status GetWriteStream(const std::string& stream);

  std::uint64_t bytes_sent() const { return bytes_sent_.load(); }
  std::uint64_t appends() const { return appends_.load(); }

 private:
  struct Impl;
  explicit StorageWriteClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::atomic<std::uint64_t> bytes_sent_{0};
  std::atomic<std::uint64_t> appends_{0};
};

// Whether host:port names a loopback address (127.0.0.0/8, ::1, localhost).
bool IsLoopbackEndpoint(const std::string& endpoint);

}  // namespace oceanus::sink
