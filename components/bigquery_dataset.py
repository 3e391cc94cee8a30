"""A BigQuery dataset that DICOM stores stream into, with its additive IAM grants."""

from functools import partial
from typing import NotRequired, Optional, TypedDict

import pulumi
import pulumi_gcp as gcp

from dicomstream.core import naming
from dicomstream.core.roles import KMS_ENCRYPTER_DECRYPTER

from .iam import grants, iam_problems
from .inputs import Checks
from .renames import Component

TYPE = "dicomstream:index:BigQueryDataset"
DESCRIPTION = "DICOM instance metadata streamed from Cloud Healthcare API DICOM stores"


class BigQueryDatasetArgs(TypedDict):
    """A BigQuery dataset that receives DICOM metadata rows (created here, or `existing`)."""

    dataset_id: pulumi.Input[str]
    """Letters, digits and underscores, at most 1024 characters."""
    project: pulumi.Input[str]
    """The project that holds the dataset."""
    location: NotRequired[pulumi.Input[str]]
    """BigQuery location (`US`, `EU`, `us-central1`); co-locate it with the Healthcare dataset."""
    labels: NotRequired[dict[str, pulumi.Input[str]]]
    kms_key_name: NotRequired[pulumi.Input[str]]
    """A Cloud KMS key (`projects/P/locations/L/keyRings/R/cryptoKeys/K`) for the dataset's tables."""
    existing: NotRequired[bool]
    """The dataset is owned elsewhere: only the grants are managed here."""
    iam: NotRequired[dict[str, dict[str, pulumi.Input[str]]]]
    """Additive grants on the dataset, `{role: {key: member}}`; the key names the grant resource."""
    protect: NotRequired[bool]
    """Protect the dataset (not its grants) from deletion by Pulumi."""


def _location_problem(value: object) -> Optional[str]:
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        return f"{naming.shown(value)} is not a BigQuery location; use e.g. US, EU or us-central1"
    return None


class BigQueryDataset(Component):
    """A BigQuery dataset (created, or referenced with `existing`) and its grants.

    The BigQuery service account of the project gets the CMEK key first: without it the tables that
    the Healthcare API creates on first insert cannot be encrypted. Invokes run after what the
    component depends on (e.g. the enabled BigQuery API).
    """

    dataset_id: pulumi.Output[str]
    project: pulumi.Output[str]
    location: pulumi.Output[Optional[str]]
    resource_name: pulumi.Output[str]
    """`projects/PROJECT/datasets/DATASET`."""
    full_id: pulumi.Output[str]
    """`PROJECT.DATASET`, as SQL and the BigQuery client spell it."""

    def __init__(self, name: str, args: BigQueryDatasetArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, None, opts)
        checks = Checks(f"BigQueryDataset {name}")
        dataset_id = checks.value(args.get("dataset_id"), "dataset_id", lambda v: naming.bigquery_id_problem(v, "dataset"))
        project = checks.value(args.get("project"), "project", naming.project_id_problem)
        location = checks.value(args.get("location"), "location", _location_problem)
        kms_key_name = checks.value(args.get("kms_key_name"), "kms_key_name", naming.kms_key_problem)
        labels = _checked_labels(args.get("labels") or {}, checks)
        iam = args.get("iam") or {}
        for path, reason in iam_problems(iam):
            checks.problem(path, reason)
        checks.raise_if_any()

        self.dataset = None
        grant_deps: list[pulumi.Resource] = []
        if not args.get("existing"):
            key_grants = []
            if kms_key_name:
                bq_account = gcp.bigquery.get_default_service_account_output(
                    project=project, opts=pulumi.InvokeOutputOptions(depends_on=_depends_on(opts)))
                key_grants.append(gcp.kms.CryptoKeyIAMMember(
                    f"{name}-bigquery-kms",
                    crypto_key_id=kms_key_name,
                    role=KMS_ENCRYPTER_DECRYPTER,
                    member=bq_account.member,
                    opts=pulumi.ResourceOptions(parent=self),
                ))
            self.dataset = gcp.bigquery.Dataset(
                name,
                dataset_id=dataset_id,
                project=project,
                location=location,
                labels=labels,
                description=DESCRIPTION,
                delete_contents_on_destroy=False,
                default_encryption_configuration=(
                    gcp.bigquery.DatasetDefaultEncryptionConfigurationArgs(kms_key_name=kms_key_name)
                    if kms_key_name else None
                ),
                opts=pulumi.ResourceOptions(parent=self, protect=bool(args.get("protect")), depends_on=key_grants),
            )
            grant_deps.append(self.dataset)
            self.dataset_id = self.dataset.dataset_id
            self.project = self.dataset.project
            self.location = self.dataset.location
        else:
            self.dataset_id = pulumi.Output.from_input(dataset_id)
            self.project = pulumi.Output.from_input(project)
            self.location = pulumi.Output.from_input(location)

        self.iam_members: dict[str, list[gcp.bigquery.DatasetIamMember]] = {}
        for grant in grants(iam):
            self.iam_members.setdefault(grant.role, []).append(gcp.bigquery.DatasetIamMember(
                grant.name(name),
                dataset_id=self.dataset_id,
                project=self.project,
                role=grant.role,
                member=grant.member,
                opts=pulumi.ResourceOptions(parent=self, depends_on=grant_deps,
                                            aliases=grant.aliases(name, gcp.bigquery.DatasetIamMember, self)),
            ))

        self.resource_name = pulumi.Output.concat("projects/", self.project, "/datasets/", self.dataset_id)
        self.full_id = pulumi.Output.concat(self.project, ".", self.dataset_id)
        self.register_outputs({"datasetId": self.dataset_id, "project": self.project})

    @property
    def grants(self) -> list[gcp.bigquery.DatasetIamMember]:
        return [m for members in self.iam_members.values() for m in members]

    def table_uri(self, table: str) -> pulumi.Output[str]:
        """A stream destination in this dataset: `bq://PROJECT.DATASET.TABLE`."""
        problem = naming.bigquery_id_problem(table)
        if problem:
            raise ValueError(problem)
        return pulumi.Output.concat(naming.TABLE_URI_SCHEME, self.full_id, ".", table)


def _checked_labels(labels: dict, checks: Checks) -> dict:
    problem = naming.label_count_problem(len(labels), 0)
    if problem:
        checks.problem("labels", problem)
    out = {}
    for key, value in labels.items():
        reason = naming.label_key_problem(key)
        if reason:
            checks.problem(f"labels.{key}", reason)
            continue
        out[key] = checks.value(value, f"labels.{key}", partial(naming.label_value_problem, key))
    return out


def _depends_on(opts: Optional[pulumi.ResourceOptions]) -> list:
    depends_on = opts.depends_on if opts else None
    if depends_on is None:
        return []
    return list(depends_on) if isinstance(depends_on, (list, tuple)) else [depends_on]

