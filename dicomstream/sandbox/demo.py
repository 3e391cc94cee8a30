"""`dicomstream demo`: an ephemeral sandbox, the stack provisioned through the APIs, DICOM
instances stored with STOW-RS, and the rows that streamed into BigQuery printed as a table."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from dicomstream.core.config import StackConfig
from dicomstream.core.config.diagnostics import plural

BATCH = 6  # instances per STOW-RS request (one series of synthetic data)
SHOW_ROWS = 12  # rows of the first table printed: enough to see patients, dates and modalities
UID_TAIL = 14  # characters of a SOP Instance UID shown (its end: where instances differ)


@dataclass
class DemoResult:
    stored: int = 0
    skipped: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # tableUri -> rows
    store_seconds: float = 0.0
    visible_seconds: float = 0.0  # STOW start -> all rows visible
    total_seconds: float = 0.0
    stream_errors: int = 0
    stream_log: str = ""


def _stow_counts(response: dict) -> tuple[int, int]:
    stored = len(response.get("00081199", {}).get("Value", []))
    failed = len(response.get("00081198", {}).get("Value", []))
    return stored, failed


def run(cfg: StackConfig, console, count: int = 36, samples: bool = True, show_rows: int = SHOW_ROWS) -> DemoResult:  # noqa: ANN001
    """Runs the demo; the sandbox is stopped on return, error or Ctrl-C."""
    from google.api_core import exceptions as gexc
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from dicomstream.sandbox import synthetic
    from dicomstream.sandbox.provision import provision
    from dicomstream.sandbox.runtime import Sandbox

    result = DemoResult()
    started = time.monotonic()
    with console.status("Starting the sandbox (BigQuery emulator + Healthcare API stand-in)..."):
        box = Sandbox(ephemeral=True).start()
    try:
        endpoints = box.endpoints
        console.print(f"[bold]Sandbox[/] Healthcare API {endpoints.healthcare}  BigQuery {endpoints.bigquery}")
        healthcare = box.healthcare_client(deadline=30.0)
        done = provision(cfg, healthcare, box.resourcemanager_client(deadline=30.0), box.bigquery_client)
        for line in done.actions:
            console.print(f"  [green]✓[/] {line}")

        stores = list(done.store_names.values())
        batches: list[tuple[str, list, str]] = []
        generated = list(synthetic.generate(count))
        for i in range(0, len(generated), BATCH):
            batches.append((stores[(i // BATCH) % len(stores)], generated[i:i + BATCH], f"synthetic {i + 1}-{min(i + BATCH, len(generated))}"))
        if samples:
            sample_sets = list(synthetic.sample_files())
            batches.append((stores[0], [ds for _, ds in sample_sets], f"{len(sample_sets)} pydicom samples"))
        total = sum(len(b[1]) for b in batches)

        per_store: dict[str, int] = {}
        t0 = time.monotonic()
        with Progress(
            TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=console, transient=False,
        ) as progress:
            task = progress.add_task("Storing DICOM instances (STOW-RS)", total=total)
            for store, items, label in batches:
                progress.update(task, description=f"Storing {label:<28}")
                try:
                    stored, failed = _stow_counts(healthcare.store_instances(store, items))
                except (gexc.BadRequest, gexc.Conflict):
                    stored, failed = 0, len(items)
                if failed:
                    result.skipped.append(f"{failed} of {label} refused by STOW-RS (in its FailedSOPSequence)")
                result.stored += stored
                per_store[store] = per_store.get(store, 0) + stored
                progress.advance(task, len(items))
            progress.update(task, description="Stored DICOM instances")
        result.store_seconds = time.monotonic() - t0

        expected = _expected_rows(cfg, done.store_names, per_store)
        bq = box.bigquery_client(cfg.healthcare.project)
        result.rows = _wait_rows(bq, expected, timeout=20.0)
        result.visible_seconds = time.monotonic() - t0
        result.stream_errors = len(box.admin.stream_errors())

        first = cfg.dicom_stores[0].streams[0] if cfg.dicom_stores and cfg.dicom_stores[0].streams else None
        if first is not None:
            console.print(_rows_table(bq, first, result.rows.get(first.uri, 0), show_rows))
        result.stream_log = str(box.stream_log_path)
    finally:
        with console.status("Stopping the sandbox..."):
            box.stop()
    result.total_seconds = time.monotonic() - started
    return result


def print_summary(result: DemoResult, console) -> None:  # noqa: ANN001
    """Last, so that it is what stays on the screen: rows per table, what was refused, the times."""
    from rich import box as box_style
    from rich.table import Table

    summary = Table(title="Rows per destination table", box=box_style.SIMPLE, title_justify="left")
    summary.add_column("tableUri", overflow="fold")
    summary.add_column("rows", justify="right")
    for uri, n in sorted(result.rows.items()):
        summary.add_row(uri, str(n))
    console.print(summary)
    for line in result.skipped:
        console.print(f"[yellow]note:[/] {line}")
    if result.stream_errors:
        console.print(f"[red]{plural(result.stream_errors, 'streaming error')}[/] in {result.stream_log}")
    rate = result.stored / result.visible_seconds if result.visible_seconds else 0.0
    console.print(f"Stored {plural(result.stored, 'instance')} in {result.store_seconds:.1f} s; all rows in "
                  f"BigQuery after {result.visible_seconds:.1f} s ({rate:.0f}/s).")
    console.print(f"Demo finished in {result.total_seconds:.1f} s.")


def short_uid(uid: str, keep: int = UID_TAIL) -> str:
    """The end of a UID, where instances of one series differ: `…883157971193`."""
    return uid if len(uid) <= keep + 1 else "…" + uid[-keep:]


def _rows_table(bq, ref, total: int, limit: int):  # noqa: ANN001
    """The first rows of one table, one line each within 80 columns."""
    from rich import box as box_style
    from rich.table import Table

    from dicomstream.gcp.bigquery import retry

    query = (
        "SELECT PatientName.Alphabetic.FamilyName AS family, PatientName.Alphabetic.GivenName AS given, "
        "PatientName.Ideographic.FamilyName AS ideographic, StudyDate, Modality, Type, SOPInstanceUID "
        f"FROM `{ref.sql_id}` ORDER BY StudyDate, family, SOPInstanceUID LIMIT {limit}"
    )
    rows = list(bq.query(query, job_retry=None, retry=retry()).result(retry=retry()))
    table = Table(title=f"First {len(rows)} of {total} rows in {ref.uri}", box=box_style.SIMPLE, title_justify="left")
    for column in ("Patient name", "Study date", "Modality", "Type", "SOP Instance UID"):
        table.add_column(column, no_wrap=True, overflow="ellipsis")
    for row in rows:
        name = "^".join(p for p in (row["family"], row["given"]) if p)
        if row["ideographic"]:
            name += f" ({row['ideographic']})"
        table.add_row(name, str(row["StudyDate"] or ""), str(row["Modality"] or ""), row["Type"],
                      short_uid(row["SOPInstanceUID"]))
    return table

def _expected_rows(cfg: StackConfig, store_names: dict[str, str], per_store: dict[str, int]) -> dict[str, int]:
    """Rows each destination should hold: the instances stored into every store streaming there."""
    expected: dict[str, int] = {}
    for store in cfg.dicom_stores:
        for ref in store.streams:
            expected[ref.uri] = expected.get(ref.uri, 0) + per_store.get(store_names[store.name], 0)
    return expected


def _wait_rows(bq, expected: dict[str, int], timeout: float) -> dict[str, int]:  # noqa: ANN001
    from dicomstream.core.naming import TableRef
    from dicomstream.gcp.bigquery import retry

    deadline = time.monotonic() + timeout
    counts: dict[str, int] = {}
    while True:
        for uri in expected:
            ref = TableRef.parse(uri)
            try:
                rows = bq.query(f"SELECT COUNT(*) AS n FROM `{ref.sql_id}`", job_retry=None, retry=retry(10)).result(retry=retry(10))
                counts[uri] = int(next(iter(rows))["n"])
            except Exception:  # noqa: BLE001 - table not created yet
                counts[uri] = 0
        if all(counts[u] >= n for u, n in expected.items()) or time.monotonic() > deadline:
            return counts
        time.sleep(0.2)
