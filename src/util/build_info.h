// What this binary is: the version of the project (CMakeLists.txt) and the git commit it was
// built from (cmake/build_info.cmake writes the definitions at build time; "-dirty" when
// tracked files differed from it, "unknown" outside a git checkout). For `oceanus --version`
// and the oceanus_build_info metric, so that a running process says which code it runs.
#pragma once

#include <string_view>

namespace oceanus {

std::string_view BuildVersion();
std::string_view BuildCommit();

}  // namespace oceanus
