#!/usr/bin/env bash
# fetch-capture.sh DIR: the `head-plans` artifact of the pull request's own `preview` run (event
# pull_request, head commit $HEAD_SHA), downloaded into DIR as data. Waits for that run to finish
# (at most $WAIT_SECONDS, default 1200). Finding none is not an error here: `preview report` then
# reports every head stack as "no plan from the head job", which blocks.
set -euo pipefail
dir=${1:?usage: fetch-capture.sh DIR}
deadline=$(( $(date +%s) + ${WAIT_SECONDS:-1200} ))
while :; do
  runs=$(gh run list --repo "${GITHUB_REPOSITORY:?}" --workflow preview.yml --event pull_request \
           --commit "${HEAD_SHA:?}" --json databaseId,status --limit 20)
  done_id=$(jq -r '[.[] | select(.status == "completed")][0].databaseId // empty' <<<"$runs")
  pending=$(jq -r '[.[] | select(.status != "completed")] | length' <<<"$runs")
  if [ -n "$done_id" ] && [ "$pending" = 0 ]; then break; fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "no finished preview run of $HEAD_SHA: the head's stacks are reported without plans"
    exit 0
  fi
  sleep 15
done
mkdir -p "$dir"
gh run download "$done_id" --repo "$GITHUB_REPOSITORY" --name head-plans --dir "$dir" \
  || echo "the preview run $done_id left no head-plans artifact: the head's stacks are reported without plans"
