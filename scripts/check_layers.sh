#!/usr/bin/env bash
# Checks that the folders of src/ include one another only downwards.
#
# Reads every `#include "<folder>/..."` in src/<folder>/**.{h,cpp}, prints the folder → folder
# include graph (with the number of include lines behind each edge), then each include that
# points to a higher layer, each pair of folders that include each other, and each folder the
# order below does not know. Exits 1 if it found any. Folders of one layer may include each
# other one way. src/main.cpp stands above everything and is not checked.
set -euo pipefail
cd "$(dirname "$0")/.."

# Lowest first; folders on one line form one layer.
layers=(
  "util"
  "config"
  "event redis google mustache"
  "queue sink tables tasks actions"
  "collect load react work"
  "http"
  "app"
)

ranks=""
for i in "${!layers[@]}"; do
  for folder in ${layers[$i]}; do ranks+="$folder=$i "; done
done

grep -rHn --include='*.h' --include='*.cpp' -E '^#include "[a-z_0-9]+/' src |
  sed -nE 's#^src/([a-z_0-9]+)/[^:]*:([0-9]+):\#include "([a-z_0-9]+)/([^"]*)".*#\1 \3 &#p' |
  awk -v ranks="$ranks" '
    BEGIN {
      n = split(ranks, pairs, " ")
      for (i = 1; i <= n; ++i) { split(pairs[i], kv, "="); rank[kv[1]] = kv[2] }
    }
    {
      from = $1; to = $2; where = $3
      sub(/:#include.*/, "", where)
      if (from == to) next
      edges[from " " to]++
      if (!(from in rank)) unknown[from] = 1
      if (!(to in rank)) unknown[to] = 1
      if ((from in rank) && (to in rank) && rank[to] > rank[from])
        up[from " -> " to] = up[from " -> " to] "    " where "\n"
      if (!((from " " to) in first)) first[from " " to] = where
    }
    END {
      print "folder -> folder (include lines):"
      cmd = "sort"
      for (e in edges) { split(e, ft, " "); printf "  %-8s -> %-8s %3d\n", ft[1], ft[2], edges[e] | cmd }
      close(cmd)
      bad = 0
      for (e in up) {
        if (!bad) print "includes from a lower layer to a higher one:"
        bad = 1
        printf "  %s\n%s", e, up[e]
      }
      for (e in edges) {
        split(e, ft, " ")
        if (ft[1] < ft[2] && ((ft[2] " " ft[1]) in edges)) {
          if (bad < 2) print "folders that include each other:"
          bad = 2
          printf "  %s <-> %s (%s; %s)\n", ft[1], ft[2], first[e], first[ft[2] " " ft[1]]
        }
      }
      for (f in unknown) {
        print "folder not in the layer order (scripts/check_layers.sh): " f
        bad = 1
      }
      if (!bad) print "layers: ok"
      exit bad ? 1 : 0
    }'
