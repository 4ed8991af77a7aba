// The names a section parser's declaration uses, declared without their headers: each stage's
// config header declares its Parse function with these and stays free of yaml-cpp.
#pragma once

namespace YAML {
class Node;
}

namespace oceanus::config {
class Reader;   // config/reader.h
struct Config;  // config/config.h
}  // namespace oceanus::config
