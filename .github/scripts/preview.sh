#!/usr/bin/env bash
# The pull-request preview's logic, called by .github/workflows/preview.yml and run as it is by
# tests/workflow/ against temporary git repositories. Needs `python` with this checkout installed.
#
#   preview.sh capture   in the head checkout (its own code, no credentials): plans/head/
#   preview.sh review    in the BASE checkout (trusted code): plans/base/, then the verdict on
#                        plans/head/ (the capture job's artifact: data) with the base's policy pack;
#                        writes plans/comment.md and plans/review.json, exits 1 when something blocks.
#
# Environment: HEAD_SHA, BASE_SHA (commits named in the comment); review also HEAD_STACKS (the
# head's stacks/ checked out as data), ALLOW_DESTROY (true when the PR has the allow-destroy
# label) and ARTIFACT (where the full plans can be downloaded).
set -euo pipefail
plans=${PLANS_DIR:-plans}

case "${1:-}" in
  capture)
    python -m dicomstream.cli preview capture --out "$plans/head" --commit "${HEAD_SHA:?}"
    ;;
  review)
    # The base's own stacks with the base's own code: what the head is compared with. A base that
    # does not plan is reported as "base plan missing" on the stacks concerned, never hidden.
    python -m dicomstream.cli preview capture --out "$plans/base" --commit "${BASE_SHA:?}" \
      || echo "::warning::the base did not plan (exit $?): every stack is compared with nothing"
    args=(--head "$plans/head" --base "$plans/base" --out "$plans/comment.md" --json-out "$plans/review.json"
          --head-commit "${HEAD_SHA:?}" --artifact "${ARTIFACT:-the preview-plans artifact of this run}")
    if [ -n "${HEAD_STACKS:-}" ]; then args+=(--head-stacks "$HEAD_STACKS"); fi
    if [ "${ALLOW_DESTROY:-false}" = true ]; then args+=(--allow-destroy); fi
    python -m dicomstream.cli preview report "${args[@]}"
    ;;
  *)
    echo "usage: preview.sh capture|review" >&2
    exit 2
    ;;
esac
