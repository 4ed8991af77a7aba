// The include for logging: spdlog, and a promise to the compiler that fmt's formatting engine
// is compiled once, in util/logging.cpp.
//
// Every spdlog call ends in fmt::detail::vformat_to<char>, a template that fmt 9 defines in
// its header without declaring it `extern`, so each file that logs instantiated, optimised
// and emitted the whole engine again (about a third of such a file's compile time, and of
// the sanitizer builds'). logging.cpp instantiates it explicitly; everywhere else the
// declaration below makes the calls link to that one copy. (libfmt.so holds an instance too,
// but under gcc's mangling of its signature, which clang's differs from: ours links under
// both.)
#pragma once

#include <spdlog/spdlog.h>

#if !defined(FMT_HEADER_ONLY)
FMT_BEGIN_NAMESPACE
namespace detail {
extern template void vformat_to<char>(buffer<char>&, basic_string_view<char>,
                                      basic_format_args<FMT_BUFFER_CONTEXT(char)>, locale_ref);
}  // namespace detail
FMT_END_NAMESPACE
#endif
