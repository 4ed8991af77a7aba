// The source registry as the config parser and `oceanus check` see it; see source.h.
#include "collect/source.h"

namespace oceanus::collect {
namespace {

class Registered : public config::SiteSources {
 public:
  std::string Names() const override { return SourceRegistry::Get().Types(); }
  bool Has(std::string_view name) const override {
    return SourceRegistry::Get().Find(name) != nullptr;
  }
  std::vector<std::string> SiteKeys(std::string_view name) const override {
    return SourceRegistry::Get().Find(name)->SiteKeys();
  }
  std::vector<config::Field> DefaultSchema(std::string_view name) const override {
    return SourceRegistry::Get().Find(name)->DefaultSchema();
  }
  std::shared_ptr<const config::ComponentSettings> ParseSite(
      std::string_view name, const config::Reader& r, const YAML::Node& node,
      const config::Site& site) const override {
    return SourceRegistry::Get().Find(name)->ParseSite(r, node, site);
  }
  std::string_view DefaultSiteSource() const override {
    for (const auto& [name, factory] : SourceRegistry::Get().all())
      if (factory->ServesDefaultSite()) return name;
    return {};
  }
};

}  // namespace

const config::SiteSources& RegisteredSiteSources() {
  static const Registered sources;
  return sources;
}

std::string DescribeEndpoint(const config::Config& config, const config::Site& site) {
  const SourceFactory* factory = SourceRegistry::Get().Find(site.endpoint);
  if (factory == nullptr) return "?";
  return factory->Describe(site, site.name == config.default_site);
}

}  // namespace oceanus::collect
