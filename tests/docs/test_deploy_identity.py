"""The deploy identity in docs/deploy-identity.md holds exactly what the plans need.

The permissions each resource type needs are in `deploy_permissions.tsv` beside this test, each row
citing Google's documentation page; the needed set is the union over the resource types that the
example stacks' plans really register. The documented custom role must equal it (nothing missing,
nothing extra), never read data, and the IAM condition must allow exactly the roles the stacks grant.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "deploy-identity.md"
TABLE = Path(__file__).with_name("deploy_permissions.tsv")
KMS_GRANT = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
DATA_READS = ("healthcare.dicomStores.dicomWebRead", "bigquery.tables.getData", "bigquery.tables.export")


def _table() -> dict[str, set[str]]:
    rows = {}
    for line in TABLE.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        type_, permissions, sources = line.split("\t")
        assert sources.split() and all(s.startswith("https://cloud.google.com/") for s in sources.split()), line
        rows[type_] = set(permissions.split())
    return rows


def _block(marker: str) -> str:
    text = DOC.read_text()
    return text.split(f"<!-- example: {marker} -->\n```sh\n", 1)[1].split("```", 1)[0]


@pytest.fixture(scope="module")
def planned():
    """(resource types, granted roles) over the fixture stacks' plans."""
    from dicomstream.core.config import read_stack_document
    from dicomstream.plan import plan_stack

    types, roles = set(), set()
    for stack in ("dev", "staging", "prod"):
        document = read_stack_document(ROOT / "tests" / "fixtures" / "stacks" / f"Pulumi.{stack}.yaml")
        for step in plan_stack(document, stack=stack, file=f"stacks/Pulumi.{stack}.yaml").steps:
            types.add(step.type)
            if step.type != KMS_GRANT and isinstance(step.inputs.get("role"), str):
                roles.add(step.inputs["role"])
    return types, roles


def test_the_custom_role_holds_exactly_the_permissions_the_plans_resource_types_need(planned):
    types, _ = planned
    table = _table()
    custom = {t for t in types if t.startswith("gcp:")}
    assert custom - set(table) == set(), "a resource type of the plans has no row in deploy_permissions.tsv"
    needed = set().union(*(table[t] for t in custom if t != KMS_GRANT))
    # Project IAM is the conditional grant below: its setIamPolicy is not in the custom role.
    needed -= {"resourcemanager.projects.getIamPolicy", "resourcemanager.projects.setIamPolicy"}
    documented = set(re.sub(r"\\\n", "", _block("deploy-role-permissions")).split("PERMISSIONS=", 1)[1]
                     .split()[0].split(","))
    assert documented == needed, (documented - needed, needed - documented)
    assert not any(p.startswith(DATA_READS) for p in documented)


def test_project_iam_is_limited_to_the_roles_the_stacks_grant(planned):
    _, roles = planned
    block = _block("deploy-iam-condition")
    assert "--role=roles/resourcemanager.projectIamAdmin" in block
    listed = re.search(r"modifiedGrantsByRole', \[\]\)\.hasOnly\(\[(.*?)\]\)", block).group(1)
    assert {r.strip().strip("'") for r in listed.split(",")} == roles


def test_the_kms_role_can_only_read_and_set_a_keys_policy(planned):
    types, _ = planned
    assert KMS_GRANT in types
    block = _block("deploy-kms-role")
    permissions = set(re.search(r"--permissions=(\S+)", block).group(1).split(","))
    assert permissions == _table()[KMS_GRANT] == {"cloudkms.cryptoKeys.getIamPolicy", "cloudkms.cryptoKeys.setIamPolicy"}
    assert "cloudkms.admin" not in block.replace("roles/cloudkms.admin", "")
