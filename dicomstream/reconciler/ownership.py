"""Which DICOM stores stream into each destination table: the evidence that a table without a
`SourceDicomStore` column holds only the stack's rows.

A store of another stack (or of no stack) may stream into one of our tables; its rows look like
ours. So before deleting, deduplicating or hiding rows of such a table, the reconciler lists
every store of every Healthcare dataset in the projects involved (the stores' project and the
destination projects: `projects.locations.list`, `datasets.list` per location, `dicomStores.list`
per dataset, with their `streamConfigs`) and keeps the tables that only the stack's stores feed.
A project it cannot list leaves every such table unproven: its rows are not changed (exit 5).

Called once per run, and only when some table without `SourceDicomStore` has rows to change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

from dicomstream.reconciler.errors import describe_read_error
from dicomstream.reconciler.observe import stream_uris
from dicomstream.reconciler.plan import Owner


@dataclass(frozen=True)
class Ownership:
    feeders: Mapping[str, frozenset[str]] = field(default_factory=dict)  # table uri → store resources
    unread: tuple[str, ...] = ()  # what could not be listed, one line each

    def owner(self, table_uri: str, ours: Iterable[str]) -> Owner:
        if self.unread:
            return Owner(False, f"the stores streaming into it could not all be listed ({'; '.join(self.unread)}); "
                                "stream with includeSourceStore so that rows name their store")
        foreign = sorted(self.feeders.get(table_uri, frozenset()) - set(ours))
        if foreign:
            return Owner(False, f"{', '.join(foreign)} also stream{'s' if len(foreign) == 1 else ''} into it and its "
                                "rows have no SourceDicomStore column to tell them apart; stream with "
                                "includeSourceStore (every store of the table), or stop the other stream")
        return Owner(True)

    def to_json(self) -> dict:
        return {"feeders": {uri: sorted(stores) for uri, stores in sorted(self.feeders.items())},
                "unread": list(self.unread)}


def discover(healthcare, projects: Iterable[str], known: Mapping[str, list[dict]] | None = None) -> Ownership:
    """Every store of the projects' Healthcare datasets and the tables it streams into.
    `known`: stores already listed this run, by dataset resource name (not listed again)."""
    known = dict(known or {})
    feeders: dict[str, set[str]] = {}
    unread: list[str] = []
    for project in dict.fromkeys(projects):
        try:
            locations = healthcare.list_locations(project)
        except Exception as exc:  # noqa: BLE001 - reported; the tables stay unproven
            unread.append(describe_read_error(exc, f"the Healthcare locations of project {project}"))
            continue
        for location in locations:
            parent = f"projects/{project}/locations/{location}"
            try:
                datasets = [d["name"] for d in healthcare.list_datasets(project, location)]
            except Exception as exc:  # noqa: BLE001
                unread.append(describe_read_error(exc, f"the Healthcare datasets of {parent}"))
                continue
            for name in datasets:
                try:
                    stores = known[name] if name in known else healthcare.list_dicom_stores(name)
                except Exception as exc:  # noqa: BLE001
                    unread.append(describe_read_error(exc, f"the DICOM stores of {name}"))
                    continue
                for store in stores:
                    for uri in stream_uris(store):
                        feeders.setdefault(uri, set()).add(store.get("name", ""))
    return Ownership({uri: frozenset(s) for uri, s in feeders.items()}, tuple(unread))
