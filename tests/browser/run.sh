#!/usr/bin/env bash
# The browser tests (CTest browser.pages): the tracker (web/oceanus.js, tracker.test.mjs) and
# the admin page (web/admin.html, admin.test.mjs) in Debian's headless Chromium against
# build/oceanus. Installs playwright-core (package-lock.json) the first time;
# the browser is Debian's chromium package (scripts/install-deps.sh), never a download.
# A missing browser or node is a failure, not a skip.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../node_env.sh"
require_node_and_browser
npm_ci_once "$here" playwright-core
export OCEANUS_SOURCE_DIR="${OCEANUS_SOURCE_DIR:-$(cd "$here/../.." && pwd)}"
exec node --test "$here"/*.test.mjs
