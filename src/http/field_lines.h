// FieldLines: the value of a header field that a request sends on several lines.
//
// RFC 9110 §5.3: a recipient may combine the field lines of one name, in order, into one
// list separated by ", " without changing the message's meaning. X-Forwarded-For needs that (a
// proxy that adds its own line leaves the client's forged one first) and so does
// Transfer-Encoding. One line, the common case, is passed through as a view with no copy;
// only a second line copies into a buffer the caller keeps per connection, so that even
// then, once its capacity has grown, nothing is allocated per request.
#pragma once

#include <string>
#include <string_view>

namespace oceanus::http {

class FieldLines {
 public:
  explicit FieldLines(std::string& scratch) : scratch_(scratch) {}
  FieldLines(const FieldLines&) = delete;
  FieldLines& operator=(const FieldLines&) = delete;

  // Adds the next line's value; empty lines are skipped (they hold no list element).
  void Add(std::string_view line) {
    if (line.empty()) return;
    ++lines_;
    if (lines_ == 1) {
      first_ = line;
      return;
    }
    if (lines_ == 2) scratch_.assign(first_);
    scratch_ += ", ";
    scratch_ += line;
  }

  // The combined value: valid while the lines and the scratch buffer are.
  std::string_view value() const { return lines_ > 1 ? std::string_view(scratch_) : first_; }
  // Field lines added that were not empty.
  int lines() const { return lines_; }

 private:
  std::string& scratch_;
  std::string_view first_;
  int lines_ = 0;
};

}  // namespace oceanus::http
