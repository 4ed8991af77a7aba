# What the node-driven test suites (tests/browser, tests/sdk) need before they start: Debian's
# Chromium, node >= 20 with npm, sqlite3, and their npm packages installed from the lock file.
# Sourced by their run.sh; a missing tool is a failure, never a skip.

# require_node_and_browser: exits 1 with the reason when something is missing.
require_node_and_browser() {
  chromium="${OCEANUS_CHROMIUM:-/usr/bin/chromium}"
  if [ ! -x "$chromium" ]; then
    echo "FAIL: no browser at $chromium: install Debian's chromium (bash scripts/install-deps.sh)" >&2
    exit 1
  fi
  for tool in node npm sqlite3; do
    if ! command -v "$tool" >/dev/null; then
      echo "FAIL: $tool is not installed (node >= 20 with npm; sqlite3 from install-deps.sh)" >&2
      exit 1
    fi
  done
  if ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
    echo "FAIL: node $(node --version) is too old: playwright-core and the SDKs need node >= 20" >&2
    exit 1
  fi
}

# npm_ci_once DIR PACKAGE...: `npm ci` in DIR (the exact versions of its package-lock.json)
# unless every PACKAGE is already in its node_modules.
npm_ci_once() {
  local dir=$1 package
  shift
  for package in "$@"; do
    if [ ! -d "$dir/node_modules/$package" ]; then
      npm ci --prefix "$dir" --no-audit --no-fund
      return
    fi
  done
}
