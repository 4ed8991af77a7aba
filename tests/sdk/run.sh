#!/usr/bin/env bash
# The official Segment SDKs against a real oceanus (CTest sdk.segment): @segment/analytics-node
# from node (node.test.mjs) and @segment/analytics-next (analytics.js) in Debian's headless
# Chromium (browser.test.mjs), both pointed at build/oceanus, the rows read from its SQLite
# warehouse. Installs the exact versions of package-lock.json the first time (npm ci); the
# browser is Debian's chromium package, never a download. A missing tool is a failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../node_env.sh"
require_node_and_browser
npm_ci_once "$here" @segment/analytics-node @segment/analytics-next playwright-core
export OCEANUS_SOURCE_DIR="${OCEANUS_SOURCE_DIR:-$(cd "$here/../.." && pwd)}"
exec node --test --test-concurrency=1 "$here"/*.test.mjs
