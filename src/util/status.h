// Status and Result<T>: the one error type used everywhere below main.
//
// Modelled on LevelDB's Status: a cheap value that is either OK or carries a code and a
// message. The code says what the caller can do about it (retry later, give up on this input,
// fix the config); the message says what happened, for a person. Exceptions are used only at
// the edges (config loading reports through Status too; main turns a Status into an exit code).
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace oceanus {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,  // the input is wrong and will stay wrong: do not retry it
    kNotFound,         // the thing asked for does not exist
    kCorruption,       // stored data failed a check (CRC, framing)
    kIoError,          // the OS refused (disk full, permission): may pass, may not
    kUnavailable,      // a peer is down or slow: retry with backoff
    kInternal,         // a bug or an impossible state
  };

  Status() = default;  // OK
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return {Code::kInvalidArgument, std::move(msg)};
  }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {Code::kCorruption, std::move(msg)}; }
  static Status IoError(std::string msg) { return {Code::kIoError, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {Code::kUnavailable, std::move(msg)}; }
  static Status Internal(std::string msg) { return {Code::kInternal, std::move(msg)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // True when the same operation may succeed later without a change of input.
  bool retryable() const { return code_ == Code::kUnavailable || code_ == Code::kIoError; }
  std::string ToString() const;
  // The same code, the message prefixed with where it happened: "table t: <message>".
  Status WithContext(std::string_view where) const {
    return ok() ? *this : Status(code_, std::string(where) + ": " + message_);
  }

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : data_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(data_).ok() && "a Result needs a value or an error");
  }

  bool ok() const { return std::holds_alternative<T>(data_); }
  explicit operator bool() const { return ok(); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(data_);
  }
  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace oceanus
