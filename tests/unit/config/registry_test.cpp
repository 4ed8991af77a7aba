// config/registry.h: factories found by type name, listed in order, duplicates refused.
#include "config/registry.h"

#include <gtest/gtest.h>

#include <string>

namespace oceanus::config {
namespace {

class TestFactory {
 public:
  virtual ~TestFactory() = default;
  virtual std::string Name() const = 0;
};

class Alpha : public TestFactory {
 public:
  std::string Name() const override { return "alpha"; }
};
class Beta : public TestFactory {
 public:
  std::string Name() const override { return "beta"; }
};

OCEANUS_REGISTER(TestFactory, Beta, "beta");
OCEANUS_REGISTER(TestFactory, Alpha, "alpha");

TEST(RegistryTest, FindsRegisteredFactoriesByType) {
  const auto& registry = Registry<TestFactory>::Get();
  ASSERT_NE(registry.Find("alpha"), nullptr);
  EXPECT_EQ(registry.Find("alpha")->Name(), "alpha");
  EXPECT_EQ(registry.Find("beta")->Name(), "beta");
  EXPECT_EQ(registry.Find("gamma"), nullptr);
  EXPECT_EQ(registry.Types(), "alpha, beta");
}

TEST(RegistryDeathTest, TwoFactoriesUnderOneNameStopTheProgram) {
  EXPECT_DEATH(Registry<TestFactory>::Get().Add("alpha", nullptr),
               "two components registered as type 'alpha'");
}

}  // namespace
}  // namespace oceanus::config
