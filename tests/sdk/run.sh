#!/usr/bin/env bash
# The official Segment SDKs against a real oceanus (CTest sdk.segment): @segment/analytics-node
# from node (node.test.mjs) and @segment/analytics-next (analytics.js) in Debian's headless
# Chromium (browser.test.mjs), both pointed at build/oceanus, the rows read from its SQLite
# warehouse. Installs the exact versions of package-lock.json the first time (npm ci); the
# browser is Debian's chromium package, never a download. A missing tool is a failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
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
  echo "FAIL: node $(node --version) is too old: the SDKs and playwright-core need node >= 20" >&2
  exit 1
fi
if [ ! -d "$here/node_modules/@segment/analytics-node" ] ||
   [ ! -d "$here/node_modules/@segment/analytics-next" ] ||
   [ ! -d "$here/node_modules/playwright-core" ]; then
  npm ci --prefix "$here" --no-audit --no-fund
fi
export OCEANUS_SOURCE_DIR="${OCEANUS_SOURCE_DIR:-$(cd "$here/../.." && pwd)}"
exec node --test --test-concurrency=1 "$here"/*.test.mjs
