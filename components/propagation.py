"""A pause on creation only, for Google changes that are accepted before they take effect.

Two first-`up` races need one: a DICOM store whose stream configs are set right after the
Healthcare Service Agent's grants fails while the grants propagate (IAM changes take up to a few
minutes), and an alert policy on a just-created log-based metric fails with 404 "Cannot find
metric(s)" for a while (terraform-provider-google issue 11102). A resource that depends on a
`PropagationDelay` waits `seconds` after the resources in its `triggers` were created; later
`up`s do not wait, unless a trigger changes (a new grant), which replaces the delay and so waits
again before the resources that depend on it are created or updated. Preview never waits.

There is no `time` provider in this toolchain, so this is a small dynamic resource: the Python
SDK serialises the provider with the program's state and runs it in its own provider host.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import pulumi
import pulumi.dynamic as dynamic

from .pickler import register_dynamic

# How long Google takes, with margin: IAM documents "typically 2 minutes" with most changes
# effective well under one; the metric 404 window in issue 11102 is reported at 30-60 s.
IAM_PROPAGATION_S = 60
METRIC_PROPAGATION_S = 60


# Deployed stacks record this provider by module and class name: keep both (a test pins them).
class DelayProvider(dynamic.ResourceProvider):
    """create: sleep; diff: replace when the triggers change; update (seconds only): no sleep."""

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        import time
        import uuid

        time.sleep(float(props.get("seconds") or 0))
        return dynamic.CreateResult(id_=uuid.uuid4().hex,
                                    outs={"seconds": props.get("seconds"), "triggers": props.get("triggers")})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        retrigger = olds.get("triggers") != news.get("triggers")
        changed = retrigger or olds.get("seconds") != news.get("seconds")
        return dynamic.DiffResult(changes=changed, replaces=["triggers"] if retrigger else [],
                                  delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        return dynamic.UpdateResult(outs={"seconds": news.get("seconds"), "triggers": news.get("triggers")})


class PropagationDelay(dynamic.Resource):
    """Waits `seconds` once `triggers` (e.g. the grants' ids) exist; depend on it to start after."""

    def __init__(self, name: str, *, seconds: float, triggers: Sequence[pulumi.Input[str]],
                 opts: Optional[pulumi.ResourceOptions] = None):
        register_dynamic(self, DelayProvider, name, {"seconds": seconds, "triggers": list(triggers)}, opts)
