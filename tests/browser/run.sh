#!/usr/bin/env bash
# The browser tests (CTest browser.pages): the tracker (web/oceanus.js, tracker.test.mjs) and
# the admin page (web/admin.html, admin.test.mjs) in Debian's headless Chromium against
# build/oceanus. Installs playwright-core (package-lock.json) the first time;
# the browser is Debian's chromium package (scripts/install-deps.sh), never a download.
# A missing browser or node is a failure, not a skip.
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
  echo "FAIL: node $(node --version) is too old: playwright-core needs node >= 20" >&2
  exit 1
fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
  npm ci --prefix "$here" --no-audit --no-fund
fi
export OCEANUS_SOURCE_DIR="${OCEANUS_SOURCE_DIR:-$(cd "$here/../.." && pwd)}"
exec node --test "$here"/*.test.mjs
