#!/usr/bin/env bash
# Quick start: install what is missing, build, and run oceanus on the embedded default
# (local spool + SQLite in ./data) with examples/oceanus.yaml. Extra arguments go to
# `oceanus run` (e.g. --listen 127.0.0.1:8080 --data-dir /tmp/oceanus).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
exec ./build/oceanus run --config examples/oceanus.yaml "$@"
