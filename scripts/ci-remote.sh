#!/usr/bin/env bash
# scripts/ci-remote.sh pull|push: the shared DVC caches (outputs and run-cache) in CI.
# Fails loudly when no remote is configured or the remote fails, unless MIXDISTILL_REMOTE=none (a repository
# variable read by the workflow) says to run without shared caches. Outputs missing from the remote are not an
# error on pull (a first run has nothing to pull).
set -euo pipefail
action="${1:?usage: scripts/ci-remote.sh pull|push}"
if [ "${MIXDISTILL_REMOTE:-required}" = none ]; then
  echo "ci-remote: MIXDISTILL_REMOTE=none: running without a DVC remote (nothing to $action)"
  exit 0
fi
if ! dvc remote list | grep -q .; then
  echo "::error::no DVC remote is configured. Add one (README: 'Sharing caches: an S3 remote') or set the repository variable MIXDISTILL_REMOTE=none to run without shared caches." >&2
  exit 1
fi
case "$action" in
  pull) args=(--run-cache --allow-missing) ;;
  push) args=(--run-cache) ;;
  *) echo "ci-remote: unknown action '$action' (pull or push)" >&2; exit 2 ;;
esac
if ! dvc "$action" "${args[@]}"; then
  echo "::error::dvc $action ${args[*]} failed: check the remote's URL (dvc remote list) and the AWS_* secrets." >&2
  exit 1
fi
