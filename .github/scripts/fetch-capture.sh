#!/usr/bin/env bash
# fetch-capture.sh DIR: the `head-plans` artifact of the pull request's own `preview` run (event
# pull_request, head commit $HEAD_SHA), unpacked into DIR as data. Waits for that run to finish
# (at most $WAIT_SECONDS, default 1200). Finding none is not an error here: `preview report` then
# reports every head stack as "no plan from the head job", which blocks.
#
# The artifact is what the pull request's code wrote, so it is hostile input: the archive is
# downloaded into a private folder of the runner's temp (never the checkout), at most
# 128 MiB of it, and unpacked by the base's code (dicomstream.preview.artifact): only regular files
# named as `preview capture` names them land in DIR, at its top; links, folders, devices, other
# names and oversized entries are left out and named. Names from the archive reach this log quoted.
set -euo pipefail
dir=${1:?usage: fetch-capture.sh DIR}
python=${PYTHON:-.venv/bin/python}
max_zip=$((128 * 1024 * 1024))  # dicomstream.preview.artifact.MAX_ARCHIVE_BYTES
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
case "$done_id" in *[!0-9]*) echo "the preview run's id is not a number: the head's stacks are reported without plans"; exit 0 ;; esac

artifacts=$(gh api "repos/$GITHUB_REPOSITORY/actions/runs/$done_id/artifacts?name=head-plans&per_page=100") \
  || artifacts='{}'
artifact_id=$(jq -r '[(.artifacts // [])[] | select(.name == "head-plans" and (.expired | not))][0].id // empty' \
                <<<"$artifacts" || true)
artifact_size=$(jq -r '[(.artifacts // [])[] | select(.name == "head-plans" and (.expired | not))][0].size_in_bytes // empty' \
                  <<<"$artifacts" || true)
if ! [[ "$artifact_id" =~ ^[0-9]{1,15}$ && "$artifact_size" =~ ^[0-9]{1,15}$ ]]; then
  echo "the preview run $done_id left no head-plans artifact: the head's stacks are reported without plans"
  exit 0
fi
if [ "$artifact_size" -gt "$max_zip" ]; then
  echo "the head-plans artifact of run $done_id is $artifact_size bytes (at most $max_zip): the head's stacks are reported without plans"
  exit 0
fi

staging=$(mktemp -d "${RUNNER_TEMP:-/tmp}/head-plans.XXXXXX")
trap 'rm -rf "$staging"' EXIT
# At most max_zip + 1 bytes are kept, whatever the size announced: one more means too big.
{ gh api "repos/$GITHUB_REPOSITORY/actions/artifacts/$artifact_id/zip" || true; } \
  | head -c $((max_zip + 1)) > "$staging/head-plans.zip" || true
if [ "$(stat -c %s "$staging/head-plans.zip")" -gt "$max_zip" ]; then
  echo "the head-plans artifact of run $done_id holds more than $max_zip bytes: the head's stacks are reported without plans"
  exit 0
fi
"$python" -m dicomstream.preview.artifact "$staging/head-plans.zip" "$dir"
