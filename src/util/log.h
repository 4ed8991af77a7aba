// The include for logging: spdlog, and a promise to the compiler that fmt's formatting engine
// is already compiled.
//
// Every spdlog call ends in fmt::detail::vformat_to<char>, a template that fmt 9 defines in
// its header without declaring it `extern`, so each file that logs instantiated, optimised
// and emitted the whole engine again (about a third of such a file's compile time, and of
// the sanitizer builds'). libfmt.so already holds that instantiation (fmt's format.cc
// instantiates it explicitly), so the declaration below makes the calls link there instead.
#pragma once

#include <spdlog/spdlog.h>

#if !defined(FMT_HEADER_ONLY)
FMT_BEGIN_NAMESPACE
namespace detail {
extern template FMT_API void vformat_to<char>(buffer<char>&, basic_string_view<char>,
                                              basic_format_args<FMT_BUFFER_CONTEXT(char)>,
                                              locale_ref);
}  // namespace detail
FMT_END_NAMESPACE
#endif
