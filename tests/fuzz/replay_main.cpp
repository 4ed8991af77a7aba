// Corpus replay for the fuzz targets: a `main` that feeds every file of the directories (or
// files) named on the command line to LLVMFuzzerTestOneInput, so that the seed corpus and every
// crash ever found are run in each CI build, with gcc and without libFuzzer. A directory that
// does not exist is skipped (regressions/<name>/ appears with the first finding), but at least
// one input must have been run. An input that breaks an invariant aborts, which fails the test.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::vector<std::filesystem::path> Inputs(const std::filesystem::path& root) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  if (std::filesystem::is_regular_file(root, ec)) {
    out.push_back(root);
  } else if (std::filesystem::is_directory(root, ec)) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root, ec))
      if (entry.is_regular_file()) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t runs = 0;
  for (int i = 1; i < argc; ++i) {
    for (const auto& path : Inputs(argv[i])) {
      std::ifstream in(path, std::ios::binary);
      if (!in) {
        std::fprintf(stderr, "cannot read %s\n", path.c_str());
        return 1;
      }
      const std::string bytes((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
      std::fprintf(stderr, "running %s (%zu bytes)\n", path.c_str(), bytes.size());
      // A copy of exactly `size` bytes, so that ASan catches a read past the end.
      std::vector<std::uint8_t> data(bytes.begin(), bytes.end());
      static const std::uint8_t kEmpty = 0;
      LLVMFuzzerTestOneInput(data.empty() ? &kEmpty : data.data(), data.size());
      ++runs;
    }
  }
  std::fprintf(stderr, "%zu inputs replayed\n", runs);
  if (runs == 0) {
    std::fprintf(stderr, "no inputs found: give corpus directories or files\n");
    return 1;
  }
  return 0;
}
