"""A DICOM store whose instance metadata streams into up to five BigQuery tables.

A store is a plain resource inside its `HealthcareDataset` component rather than a component of
its own: imaging networks run hundreds of stores, and an extra registration per store is what
made previews of large stacks slow (see bench/).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import pulumi
import pulumi_gcp as gcp

from components.naming import TableRef


@dataclass
class DicomStoreArgs:
    store_id: str
    streams: Sequence[TableRef] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    # The grants the destinations need: the store (and so its streaming) waits for them.
    grants: Sequence[pulumi.Resource] = ()

    @property
    def table_uris(self) -> list[str]:
        return [ref.uri for ref in self.streams]


def dicom_store(name: str, args: DicomStoreArgs, *, dataset: pulumi.Input[str], protect: bool,
                parent: pulumi.Resource, aliases: Sequence[str] = ()) -> gcp.healthcare.DicomStore:
    """The store `args.store_id`, named `name` (its dataset component's name, then the store id)."""
    # The limit of five streams is the model's rule (components/config), lenient under --no-validate.
    return gcp.healthcare.DicomStore(
        name,
        dataset=dataset,
        name=args.store_id,
        labels=dict(args.labels),
        stream_configs=[
            gcp.healthcare.DicomStoreStreamConfigArgs(
                bigquery_destination=gcp.healthcare.DicomStoreStreamConfigBigqueryDestinationArgs(table_uri=uri)
            )
            for uri in args.table_uris
        ],
        opts=pulumi.ResourceOptions(parent=parent, protect=protect, depends_on=list(args.grants),
                                    aliases=list(aliases)),
    )
