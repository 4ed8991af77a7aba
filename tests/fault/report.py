#!/usr/bin/python3
"""Renders the fault scenarios' figures (JSON lines, one per scenario run) as a markdown table.

  report.py [RESULTS.jsonl] [--all]

RESULTS defaults to $OCEANUS_FAULT_RESULTS, else build/fault-results.jsonl. Without --all only
the latest run of each scenario is shown, in the order of docs/RELIABILITY.md.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.environ.get("OCEANUS_FAULT_RESULTS") or os.path.join(HERE, "..", "..", "build", "fault-results.jsonl")

COLUMNS = [
    ("scenario", "scenario"),
    ("sent", "sent"),
    ("acked", "acked (2xx)"),
    ("answered_503", "503"),
    ("answered_other", "other / no answer"),
    ("stored", "stored"),
    ("duplicated", "duplicated"),
    ("stored_unacked", "stored, not acked"),
    ("lost", "lost"),
    ("duration_s", "duration (s)"),
    ("ok", "ok"),
]
# The scenarios in the order of docs/RELIABILITY.md (by name prefix); others follow.
ORDER = ["collector_kill9", "collector_kill9_while_spooling", "loader_kill9", "redis_restart_sigterm",
         "redis_restart_kill9", "redis_down_", "sink_sqlite_", "sink_bigquery_", "sigterm_all_roles",
         "spool_disk_full", "spool_fills_disk", "worker_kill9_local", "worker_kill9_rabbitmq",
         "loader_kill9_clickhouse", "sink_clickhouse_"]


def rank(line):
    name = line["scenario"]
    matches = [i for i, prefix in enumerate(ORDER) if name == prefix or name.startswith(prefix)]
    return (max(matches, key=lambda i: len(ORDER[i])) if matches else len(ORDER), name)


# Not repeated in the notes column.
HIDDEN = {k for k, _ in COLUMNS} | {"date", "phases", "rate", "no_answer", "duplicate_eids", "failed"}


def cell(value):
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, dict):
        return " ".join(f"{k}:{v}" for k, v in value.items())
    return "" if value is None else str(value)


def notes(line):
    return ", ".join(f"{k}={cell(v)}" for k, v in line.items() if k not in HIDDEN and v is not None)


def render(lines):
    out = ["| " + " | ".join(title for _, title in COLUMNS) + " | notes |",
           "|" + "---|" * (len(COLUMNS) + 1)]
    for line in lines:
        out.append("| " + " | ".join(cell(line.get(k)) for k, _ in COLUMNS) + f" | {notes(line)} |")
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", default=DEFAULT)
    parser.add_argument("--all", action="store_true", help="every run, not only the latest per scenario")
    args = parser.parse_args()
    try:
        with open(args.results) as f:
            lines = [json.loads(text) for text in f if text.strip()]
    except FileNotFoundError:
        sys.exit(f"{args.results}: no results yet (run ctest --test-dir build -L fault)")
    if not args.all:
        latest = {}
        for line in lines:
            latest.pop(line["scenario"], None)  # re-inserted: the order of the latest runs
            latest[line["scenario"]] = line
        lines = sorted(latest.values(), key=rank)
    print(render(lines))
    if lines:
        print(f"\n{len(lines)} run(s), {min(l['date'] for l in lines)} to {max(l['date'] for l in lines)} (UTC), "
              f"{lines[0].get('rate', '?')} events/s")


if __name__ == "__main__":
    main()
