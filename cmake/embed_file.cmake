# Writes a C++ source whose function returns the bytes of a file, so that the binary carries
# it (web/oceanus.js, the tracker script). Run at build time by the root CMakeLists.txt:
#   cmake -DINPUT=file -DOUTPUT=out.cpp -DNAMESPACE=ns -DFUNCTION=Name -P embed_file.cmake
# defines `std::string_view ns::Name()`.
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
# 16 bytes a line: one match of 32 hex digits (CMake regexes have no {n}), then one per byte.
string(REPEAT "[0-9a-f]" 32 line)
string(REGEX REPLACE "(${line})" "\\1\n" hex "${hex}")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUTPUT}.tmp" "// Generated from ${INPUT} by cmake/embed_file.cmake; do not edit.
#include <string_view>

namespace ${NAMESPACE} {
namespace {
const unsigned char kBytes[] = {
${bytes}0};
}  // namespace

std::string_view ${FUNCTION}() {
  return {reinterpret_cast<const char*>(kBytes), ${size}};
}

}  // namespace ${NAMESPACE}
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
