#!/usr/bin/env bash
# Build the pull-request report that CML posts: the study report, then what moved against BASE.
#   scripts/pr-report.sh [BASE] [OUT]      (defaults: main, pr-report.md)
# The GitHub workflow runs this, then `cml comment create OUT`. Run it locally to rehearse.
set -euo pipefail
base="${1:-main}"
out="${2:-pr-report.md}"
{
  echo "## mixdistill: metrics against \`$base\`"
  echo
  dvc metrics diff "$base" --md --precision 2 || echo "(no metrics to compare with $base)"
  echo
  echo "## Params that moved"
  echo
  dvc params diff "$base" --md || echo "(no params to compare with $base)"
  echo
  if [ -f report.md ]; then
    echo "<details><summary>Full report</summary>"
    echo
    cat report.md
    echo
    echo "</details>"
  fi
} > "$out"
echo "wrote $out"
