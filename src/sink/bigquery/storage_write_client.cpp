// StorageWriteClient: the generated stub (storage_write.proto), credentials, and the mapping
// of gRPC statuses and StorageError codes onto AppendOutcome; see the header.
#include "sink/bigquery/storage_write_client.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/credentials.h>

#include <fstream>

#include "google/rpc/status.pb.h"
#include "storage_write.grpc.pb.h"
#include "util/http_client.h"

namespace oceanus::sink {
namespace {

namespace v1 = ::google::cloud::bigquery::storage::v1;

constexpr const char* kSystemRoots = "/etc/ssl/certs/ca-certificates.crt";

// The access token as call credentials, fetched (and refreshed) by the token source.
class TokenPlugin final : public grpc::MetadataCredentialsPlugin {
 public:
  explicit TokenPlugin(std::shared_ptr<google::TokenSource> tokens) : tokens_(std::move(tokens)) {}
  grpc::Status GetMetadata(grpc::string_ref, grpc::string_ref, const grpc::AuthContext&,
                           std::multimap<grpc::string, grpc::string>* metadata) override {
    auto token = tokens_->Token();
    if (!token.ok())
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "BigQuery credentials: " + token.status().message());
    metadata->emplace("authorization", "Bearer " + *token);
    return grpc::Status::OK;
  }

 private:
  std::shared_ptr<google::TokenSource> tokens_;
};

std::string ReadRoots() {
  std::ifstream in(kSystemRoots);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The StorageError attached to a google.rpc.Status, if any.
std::optional<v1::StorageError> StorageErrorOf(const ::google::rpc::Status& status) {
  for (const auto& any : status.details()) {
    v1::StorageError e;
    if (any.UnpackTo(&e)) return e;
  }
  return std::nullopt;
}

using Kind = AppendOutcome::Kind;

Kind KindOf(int code, std::optional<v1::StorageError> storage) {
  if (storage) {
    switch (storage->code()) {
      case v1::StorageError::OFFSET_ALREADY_EXISTS:
        return Kind::kAlreadyExists;
      case v1::StorageError::OFFSET_OUT_OF_RANGE:
        return Kind::kOutOfRange;
      case v1::StorageError::STREAM_FINALIZED:
      case v1::StorageError::STREAM_NOT_FOUND:
      case v1::StorageError::INVALID_STREAM_STATE:
      case v1::StorageError::INVALID_STREAM_TYPE:
        return Kind::kStreamGone;
      case v1::StorageError::SCHEMA_MISMATCH_EXTRA_FIELDS:
      case v1::StorageError::TABLE_NOT_FOUND:
        return Kind::kSchemaMismatch;
      default:
        break;
    }
  }
  switch (static_cast<grpc::StatusCode>(code)) {
    case grpc::StatusCode::OK:
      return Kind::kStored;
    case grpc::StatusCode::ALREADY_EXISTS:
      return Kind::kAlreadyExists;
    case grpc::StatusCode::OUT_OF_RANGE:
      return Kind::kOutOfRange;
    case grpc::StatusCode::NOT_FOUND:
      return Kind::kStreamGone;
    case grpc::StatusCode::INVALID_ARGUMENT:
      return Kind::kInvalid;
    default:  // UNAVAILABLE, RESOURCE_EXHAUSTED, INTERNAL, ABORTED, DEADLINE_EXCEEDED,
              // UNAUTHENTICATED, PERMISSION_DENIED, CANCELLED, UNKNOWN, ...
      return Kind::kRetry;
  }
}

const char* CodeName(int code) {
  static constexpr const char* kNames[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  return code >= 0 && code <= 16 ? kNames[code] : "UNKNOWN";
}

AppendOutcome Outcome(int code, const std::string& message,
                      std::optional<v1::StorageError> storage) {
  AppendOutcome out;
  out.kind = KindOf(code, storage);
  if (out.kind != Kind::kStored) {
    out.message = std::string(CodeName(code)) + ": " + message;
    if (storage && storage->code() != v1::StorageError::STORAGE_ERROR_CODE_UNSPECIFIED)
      out.message += " (" + v1::StorageError::StorageErrorCode_Name(storage->code()) + ")";
  }
  return out;
}

AppendOutcome OutcomeOfRpc(const grpc::Status& status) {
  ::google::rpc::Status details;
  std::optional<v1::StorageError> storage;
  if (!status.error_details().empty() && details.ParseFromString(status.error_details()))
    storage = StorageErrorOf(details);
  return Outcome(status.error_code(), status.error_message(), storage);
}

Status StatusOfRpc(const grpc::Status& status, const std::string& what) {
  const std::string message =
      what + ": " + CodeName(status.error_code()) + ": " + status.error_message();
  if (status.ok()) return Status::Ok();
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) return Status::NotFound(message);
  return Status::Unavailable(message);
}

}  // namespace

const char* KindName(AppendOutcome::Kind kind) {
  switch (kind) {
    case Kind::kStored:
      return "stored";
    case Kind::kAlreadyExists:
      return "already exists";
    case Kind::kOutOfRange:
      return "out of range";
    case Kind::kRowErrors:
      return "row errors";
    case Kind::kStreamGone:
      return "stream gone";
    case Kind::kSchemaMismatch:
      return "schema mismatch";
    case Kind::kRetry:
      return "retry";
    case Kind::kInvalid:
      return "invalid";
  }
  return "?";
}

bool IsLoopbackEndpoint(const std::string& endpoint) {
  const std::string host = endpoint.substr(0, endpoint.rfind(':'));
  return host.rfind("127.", 0) == 0 || host == "localhost" || host == "[::1]" || host == "::1";
}

struct StorageWriteClient::Impl {
  std::chrono::milliseconds timeout;
  std::unique_ptr<v1::BigQueryWrite::Stub> stub;

  void Prepare(grpc::ClientContext& context, const std::string& routing) const {
    context.set_deadline(std::chrono::system_clock::now() + timeout);
    if (!routing.empty()) context.AddMetadata("x-goog-request-params", routing);
  }
};

StorageWriteClient::StorageWriteClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StorageWriteClient::~StorageWriteClient() = default;

Result<std::unique_ptr<StorageWriteClient>> StorageWriteClient::Connect(
    const Options& options, std::shared_ptr<google::TokenSource> tokens) {
  std::shared_ptr<grpc::ChannelCredentials> channel;
  std::shared_ptr<grpc::CallCredentials> call;
  if (IsLoopbackEndpoint(options.endpoint)) {
    channel = grpc::experimental::LocalCredentials(LOCAL_TCP);
    call = grpc::experimental::MetadataCredentialsFromPlugin(std::make_unique<TokenPlugin>(tokens),
                                                             GRPC_SECURITY_NONE);
  } else {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = ReadRoots();
    if (tls.pem_root_certs.empty())
      return Status::InvalidArgument(std::string("no TLS roots in ") + kSystemRoots +
                                     " (package ca-certificates)");
    channel = grpc::SslCredentials(tls);
    call = grpc::MetadataCredentialsFromPlugin(std::make_unique<TokenPlugin>(tokens));
  }
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(12 * 1024 * 1024);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 60'000);
  auto impl = std::make_unique<Impl>();
  impl->timeout = options.timeout;
  impl->stub = v1::BigQueryWrite::NewStub(grpc::CreateCustomChannel(
      options.endpoint, grpc::CompositeChannelCredentials(channel, call), args));
  return std::unique_ptr<StorageWriteClient>(new StorageWriteClient(std::move(impl)));
}

Result<std::string> StorageWriteClient::CreateCommittedStream(const std::string& table) {
  grpc::ClientContext context;
  impl_->Prepare(context, "parent=" + FormEncode(table));
  v1::CreateWriteStreamRequest request;
  request.set_parent(table);
  request.mutable_write_stream()->set_type(v1::WriteStream::COMMITTED);
  v1::WriteStream stream;
  grpc::Status status = impl_->stub->CreateWriteStream(&context, request, &stream);
  if (!status.ok()) return StatusOfRpc(status, "CreateWriteStream " + table);
  return stream.name();
}

AppendOutcome StorageWriteClient::Append(const std::string& stream,
                                         std::optional<std::int64_t> offset,
                                         const ::google::protobuf::DescriptorProto& schema,
                                         std::span<const std::string> rows) {
  v1::AppendRowsRequest request;
  request.set_write_stream(stream);
  if (offset) request.mutable_offset()->set_value(*offset);
  request.set_trace_id("oceanus");
  auto* data = request.mutable_proto_rows();
  *data->mutable_writer_schema()->mutable_proto_descriptor() = schema;
  auto* serialized = data->mutable_rows()->mutable_serialized_rows();
  serialized->Reserve(static_cast<int>(rows.size()));
  for (const auto& row : rows) serialized->Add(std::string(row));
  bytes_sent_ += request.ByteSizeLong();
  ++appends_;

  grpc::ClientContext context;
  impl_->Prepare(context, "write_stream=" + FormEncode(stream));
  auto call = impl_->stub->AppendRows(&context);
  v1::AppendRowsResponse response;
  const bool exchanged = call->Write(request) && call->WritesDone() && call->Read(&response);
  if (!exchanged) return OutcomeOfRpc(call->Finish());
  context.TryCancel();  // one exchange per call: the stream's end need not be waited for
  if (!response.has_error()) return Outcome(0, "", std::nullopt);
  AppendOutcome out = Outcome(response.error().code(), response.error().message(),
                              StorageErrorOf(response.error()));
  if (response.row_errors_size() > 0) {
    out.kind = Kind::kRowErrors;
    for (const auto& e : response.row_errors())
      out.row_errors.push_back({static_cast<std::size_t>(e.index()), e.message()});
  }
  return out;
}

Result<std::int64_t> StorageWriteClient::Finalize(const std::string& stream) {
  grpc::ClientContext context;
  impl_->Prepare(context, "name=" + FormEncode(stream));
  v1::FinalizeWriteStreamRequest request;
  request.set_name(stream);
  v1::FinalizeWriteStreamResponse response;
  grpc::Status status = impl_->stub->FinalizeWriteStream(&context, request, &response);
  if (!status.ok()) {
    // A stream already gone says so through its StorageError as well as NOT_FOUND.
    if (OutcomeOfRpc(status).kind == Kind::kStreamGone &&
        status.error_code() != grpc::StatusCode::UNAVAILABLE)
      return Status::NotFound("FinalizeWriteStream " + stream + ": " + status.error_message());
    return StatusOfRpc(status, "FinalizeWriteStream " + stream);
  }
  return response.row_count();
}

Status StorageWriteClient::GetWriteStream(const std::string& stream) {
  grpc::ClientContext context;
  impl_->Prepare(context, "name=" + FormEncode(stream));
  v1::GetWriteStreamRequest request;
  request.set_name(stream);
  v1::WriteStream response;
  return StatusOfRpc(impl_->stub->GetWriteStream(&context, request, &response),
                     "GetWriteStream " + stream);
}

}  // namespace oceanus::sink
