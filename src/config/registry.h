// Registries of components by their `type:` name: sinks, queues, task queues, actions and the
// HTTP sources each have one, the way Envoy's extensions and Vector's components do.
//
// An implementation lives in its own folder (sink/sqlite/, queue/redis/, actions/slack/, …)
// and registers its factory from its own .cpp with one line:
//
//   OCEANUS_REGISTER(sink::SinkFactory, SqliteSinkFactory, "sqlite");
//
// The core (config loader, roles, loader, reactor) looks factories up by the name the config
// gives and sees only the kind's interface; it includes no implementation header, so a new
// implementation is a new folder and nothing else changes. Every program links all of
// oceanus_core (CMakeLists.txt: oceanus_link_components), so no registration is dropped.
//
// A registry is filled while static objects are constructed, before main, and only read from
// then on: it is global, but not mutable state in any sense that matters to threads.
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iosfwd>
#include <map>
#include <string>
#include <string_view>

namespace oceanus::config {

// A component's parsed, validated settings, as the core sees them. Each kind derives its own
// interface (what its settings can open); each implementation derives its settings from that.
class ComponentSettings {
 public:
  virtual ~ComponentSettings() = default;
  // The resolved settings, for `oceanus check`: one "  key: value" line each (two spaces in,
  // secrets never printed, only whether they are set).
  virtual void Describe(std::ostream& out) const = 0;
};

// The factories of one kind by type name. `Factory` is the kind's factory interface.
template <typename Factory>
class Registry {
 public:
  static Registry& Get() {
    static Registry registry;
    return registry;
  }

  // Called by Registrar only. Two implementations under one name is a build mistake: it
  // stops the program before main rather than letting one silently win.
  void Add(std::string type, const Factory* factory) {
    if (!factories_.emplace(type, factory).second) {
      std::fprintf(stderr, "oceanus: two components registered as type '%s'\n", type.c_str());
      std::abort();
    }
  }

  const Factory* Find(std::string_view type) const {
    auto it = factories_.find(type);
    return it == factories_.end() ? nullptr : it->second;
  }

  // "bigquery, sqlite": the registered names in order, for "expected one of" messages.
  std::string Types() const {
    std::string list;
    for (const auto& [name, factory] : factories_) list += (list.empty() ? "" : ", ") + name;
    return list;
  }

  const std::map<std::string, const Factory*, std::less<>>& all() const { return factories_; }

 private:
  Registry() = default;
  std::map<std::string, const Factory*, std::less<>> factories_;
};

// Constructs one `Impl` (a `Factory`) and registers it under `type`, at static-init time.
template <typename Factory, typename Impl>
class Registrar {
 public:
  explicit Registrar(const char* type) {
    static const Impl impl;
    Registry<Factory>::Get().Add(type, &impl);
  }
};

}  // namespace oceanus::config

#define OCEANUS_REGISTRAR_NAME2(line) oceanus_registrar_##line
#define OCEANUS_REGISTRAR_NAME(line) OCEANUS_REGISTRAR_NAME2(line)
// Registers `Impl` (derived from the kind's `Factory`) under the type name `type`. Used once,
// at namespace scope, in the implementation's own .cpp.
#define OCEANUS_REGISTER(Factory, Impl, type) \
  static const ::oceanus::config::Registrar<Factory, Impl> OCEANUS_REGISTRAR_NAME(__LINE__)(type)
