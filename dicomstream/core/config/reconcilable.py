"""Rules that keep a stack reconcilable (`dicomstream reconcile`), checked by `validate`:

- **View names.** `reconcile --deletes view` keeps a view `TABLE_current` beside each destination
  table (`naming.current_view_name`), so a destination named like another destination's view
  (`t` and `t_current` in one dataset) would one day be replaced by a view: refused. So is a
  destination named like the reconciler's own tables (`_dicomstream_...`).
- **Snapshot locations.** The reconciler compares a table with snapshots exported into a dataset
  of the stores' project in the table's BigQuery location (the export API writes only to the
  stores' project; BigQuery reads no two locations in one query). A destination dataset in a
  location where the stores' project has no destination dataset cannot be compared: refused.
  Datasets of unknown location (`existing: true` without `location`) are not judged here. A
  stack with no destination in the stores' project at all is only warned about: it streams, but
  the reconciler has nowhere to take snapshots (its runs say so).
"""

from __future__ import annotations

from typing import Sequence

from dicomstream.core.config.collector import Collector
from dicomstream.core.config.model import BigQueryDatasetConfig, DicomStoreConfig, HealthcareConfig
from dicomstream.core.naming import CURRENT_VIEW_SUFFIX, RESERVED_TABLE_PREFIX, current_view_name


def check_reconcilable(datasets: Sequence[BigQueryDatasetConfig | None], stores: Sequence[DicomStoreConfig],
                       healthcare: HealthcareConfig | None, out: Collector) -> None:
    _check_view_names(stores, out)
    if healthcare is not None:
        _check_snapshot_locations([d for d in datasets if d is not None], stores, healthcare, out)


def _streams(stores: Sequence[DicomStoreConfig]):
    for i, store in enumerate(stores):
        for j, ref in enumerate(store.streams):
            yield f"dicomStores[{i}].streams[{j}]", ref


def _check_view_names(stores: Sequence[DicomStoreConfig], out: Collector) -> None:
    first: dict = {}
    for path, ref in _streams(stores):
        first.setdefault(ref, path)
    for path, ref in _streams(stores):
        if first[ref] != path:
            continue  # each table judged once
        if ref.table.startswith(RESERVED_TABLE_PREFIX):
            out.error(path, f"table {ref.table!r}: names starting with {RESERVED_TABLE_PREFIX!r} are the "
                            "reconciler's own (state, lease, snapshots); choose another name")
        if ref.table.endswith(CURRENT_VIEW_SUFFIX):
            base = type(ref)(ref.project, ref.dataset, ref.table[: -len(CURRENT_VIEW_SUFFIX)])
            if base in first:
                out.error(path, f"table {ref.table!r} is the name `reconcile --deletes view` gives the view of "
                                f"{base.table!r} ({first[base]}): {current_view_name(base.table)} would be replaced "
                                "by a view; rename one of them (a view is TABLE + '_current', in the same dataset)")


def _check_snapshot_locations(datasets: Sequence[BigQueryDatasetConfig], stores: Sequence[DicomStoreConfig],
                              healthcare: HealthcareConfig, out: Collector) -> None:
    used = {ref.dataset_key for _, ref in _streams(stores)}
    by_key = {d.key: (i, d) for i, d in enumerate(datasets)}
    snapshot_locations = {d.location.lower() for d in datasets
                          if d.key in used and d.project == healthcare.project and d.location}
    if not snapshot_locations:
        first = min((by_key[k][0] for k in used if k in by_key), default=None)
        if first is not None:
            out.warn(f"bigquery.datasets[{first}]", (
                f"no destination dataset is in project {healthcare.project} (the DICOM stores' project): "
                "`dicomstream reconcile` has nowhere to export snapshots to and compares no table; stream to a "
                f"dataset of {healthcare.project} too if you want gaps and deletions repaired"))
        return
    for key in sorted(used):
        if key not in by_key:
            continue  # undeclared: reported by the stream itself
        i, ds = by_key[key]
        if ds.location and ds.location.lower() not in snapshot_locations:
            out.error(f"bigquery.datasets[{i}].location",
                      f"dataset {ds.full_id} is in {ds.location}, and no destination dataset of project "
                      f"{healthcare.project} (the DICOM stores' project) is in {ds.location}: `dicomstream reconcile` "
                      f"compares a table with snapshots exported into the stores' project in the table's location, "
                      f"so its tables could never be compared; stream to a dataset of {healthcare.project} in "
                      f"{ds.location} too, or move this one")
