"""`dicomstream sandbox up|down|status|logs`: the local Healthcare API stand-in and BigQuery
emulator as a background process (data kept in `.sandbox/` unless `--ephemeral`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import typer

from dicomstream.commands import options

EXIT_NOT_RUNNING = 1
EXIT_START_FAILED = 1
START_TIMEOUT_S = 90.0

sandbox_app = typer.Typer(name="sandbox", no_args_is_help=True,
                          help="Run the local sandbox of Google's APIs.\n\nThe sandbox is a Cloud Healthcare "
                               "API stand-in and a BigQuery emulator on 127.0.0.1.")
PORT = options.whole(0, 65535, "a port")


def register(app: typer.Typer) -> None:
    app.add_typer(sandbox_app, name="sandbox")


def _dir(option: Optional[Path], command: str) -> Path:
    """--dir, else .sandbox in the project (one line and exit 2 outside a project)."""
    return (option or options.project(f"sandbox {command}") / ".sandbox").resolve()


def _print_endpoints(info: dict) -> None:
    from dicomstream.gcp.endpoints import Endpoints

    endpoints = Endpoints(healthcare=info["healthcare"], bigquery=info["bigquery"], resourcemanager=info["resourcemanager"])
    typer.echo(f"Healthcare API:    {endpoints.healthcare}/v1/projects/PROJECT/locations/LOCATION/datasets")
    typer.echo(f"Resource Manager:  {endpoints.resourcemanager}/v1/projects/PROJECT")
    typer.echo(f"BigQuery:          {endpoints.bigquery}")
    typer.echo(f"Admin (faults):    {endpoints.healthcare}/_sandbox/faults")
    typer.echo(f"Streaming log:     {info.get('streamLog', '')}")
    typer.echo(f"Data:              {'in memory (ephemeral)' if info.get('ephemeral') else info.get('dir', '')}")
    typer.echo("")
    typer.echo("# Point dicomstream commands at the sandbox:")
    for line in endpoints.export_lines():
        typer.echo(line)


@sandbox_app.command("up")
def up(
    port_healthcare: int = typer.Option(0, "--port-healthcare", parser=PORT, metavar="PORT",
                                        help="The Healthcare API stand-in's port (0 picks a free one)."),
    port_bigquery: int = typer.Option(0, "--port-bigquery", parser=PORT, metavar="PORT",
                                      help="The BigQuery emulator's port (0 picks a free one)."),
    ephemeral: bool = typer.Option(False, "--ephemeral", help="Keep the data in memory only, nothing in the sandbox's directory."),
    directory: Optional[Path] = options.SANDBOX_DIR,
) -> None:
    """Start the sandbox in the background and print its endpoints.

    Both servers listen on 127.0.0.1: the Healthcare API stand-in and the BigQuery emulator.
    """
    from dicomstream.sandbox.daemon import read_info

    options.require("sandbox up", "sandbox")
    root = _dir(directory, "up")
    info = read_info(root)
    if info is not None:
        typer.echo(f"The sandbox is already running (pid {info['pid']}).")
        _print_endpoints(info)
        return
    root.mkdir(parents=True, exist_ok=True)
    log_path = root / "sandbox.log"
    cmd = [sys.executable, "-m", "dicomstream.sandbox.daemon", "--dir", str(root),
           "--port-healthcare", str(port_healthcare), "--port-bigquery", str(port_bigquery)]
    if ephemeral:
        cmd.append("--ephemeral")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # noqa: S603
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        info = read_info(root)
        if info is not None and info.get("pid") == proc.pid:
            typer.echo(f"Sandbox started (pid {proc.pid}); stop it with `dicomstream sandbox down`.")
            _print_endpoints(info)
            return
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    if proc.poll() is None:
        proc.terminate()
    tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
    typer.echo(f"dicomstream sandbox up: the sandbox did not start; last lines of {log_path}:", err=True)
    for line in tail:
        typer.echo(f"  {line}", err=True)
    raise typer.Exit(EXIT_START_FAILED)


@sandbox_app.command("down")
def down(directory: Optional[Path] = options.SANDBOX_DIR) -> None:
    """Stop the background sandbox.

    Its data stays in its directory, unless it was started with --ephemeral.
    """
    from dicomstream.sandbox.daemon import read_info

    root = _dir(directory, "down")
    info = read_info(root)
    if info is None:
        typer.echo("The sandbox is not running.")
        return
    pid = int(info["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            typer.echo(f"Sandbox stopped (pid {pid}).")
            return
        time.sleep(0.1)
    typer.echo(f"dicomstream sandbox down: pid {pid} did not stop within 30 s; stop it with `kill {pid}`", err=True)
    raise typer.Exit(1)


@sandbox_app.command("status")
def status(
    directory: Optional[Path] = options.SANDBOX_DIR,
    as_json: bool = options.JSON,
) -> None:
    """Say whether the sandbox runs, and where.

    Exit 0: it runs; 1: it does not.
    """
    from dicomstream.sandbox.daemon import read_info

    info = read_info(_dir(directory, "status"))
    if as_json:
        typer.echo(json.dumps(info or {"running": False}, indent=2))
    elif info is None:
        typer.echo("The sandbox is not running; start it with `dicomstream sandbox up`.")
    else:
        typer.echo(f"The sandbox is running (pid {info['pid']}, since {info['started']}).")
        _print_endpoints(info)
    if info is None:
        raise typer.Exit(EXIT_NOT_RUNNING)


@sandbox_app.command("logs")
def logs(
    directory: Optional[Path] = options.SANDBOX_DIR,
    tail: int = typer.Option(50, "--tail", "-n", parser=options.whole(1, None, "a number of entries"), metavar="N",
                             help="Show the last N entries."),
) -> None:
    """Print the streaming errors, one JSON log entry per line.

    These are the entries Google writes to Cloud Logging with the label
    healthcare.googleapis.com/dicom_stream.
    """
    from dicomstream.sandbox.daemon import read_info
    from dicomstream.sandbox.runtime import STREAM_LOG

    root = _dir(directory, "logs")
    info = read_info(root)
    path = Path(info["streamLog"]) if info and info.get("streamLog") else root / STREAM_LOG
    if not path.is_file():
        typer.echo(f"No streaming errors logged: no sandbox has run in {root}.")
        return
    lines = path.read_text(errors="replace").splitlines()
    if not lines:
        typer.echo(f"No streaming errors logged ({path} is empty).")
    for line in lines[-tail:]:
        typer.echo(line)


@sandbox_app.command("provision")
def provision_stack(
    stack: str = typer.Option("dev", "--stack", "-s", callback=options.stack_name, metavar="NAME",
                              help="The stack to create: stacks/Pulumi.NAME.yaml."),
    instances: int = typer.Option(0, "--instances", "-n", parser=options.whole(0, 10000, "a number of instances"),
                                  metavar="N", help="Also store N synthetic DICOM instances, spread over the stores."),
    streams: bool = typer.Option(True, "--streams/--no-streams", help="Set the stores' stream configs."),
    grants: bool = typer.Option(True, "--grants/--no-grants", help="Grant the Healthcare Service Agent its roles."),
    directory: Optional[Path] = options.SANDBOX_DIR,
) -> None:
    """Create a stack in the running sandbox.

    The datasets, grants and DICOM stores are created through the APIs, as pulumi up would
    create them in the cloud.
    """
    from dicomstream.core.config import ConfigError, load_stack_file
    from dicomstream.core.config.diagnostics import plural
    from dicomstream.gcp.bigquery import make_client
    from dicomstream.gcp.healthcare import HealthcareClient
    from dicomstream.gcp.resourcemanager import ResourceManagerClient
    from dicomstream.sandbox import synthetic
    from dicomstream.sandbox.daemon import read_info
    from dicomstream.sandbox.provision import provision

    try:
        cfg = load_stack_file(options.stack("sandbox provision", stack))
    except ConfigError as error:
        for line in error.lines:
            typer.echo(line, err=True)
        raise typer.Exit(2) from None
    info = read_info(_dir(directory, "provision"))
    if info is None:
        typer.echo("dicomstream sandbox provision: the sandbox is not running; start it with "
                   "`dicomstream sandbox up`", err=True)
        raise typer.Exit(EXIT_NOT_RUNNING)
    healthcare = HealthcareClient(info["healthcare"])
    done = provision(cfg, healthcare, ResourceManagerClient(info["resourcemanager"]),
                     lambda project: make_client(project, endpoint=info["bigquery"]), grants=grants, streams=streams)
    for line in done.actions:
        typer.echo(f"✓ {line}")
    if instances and done.store_names:
        names = list(done.store_names.values())
        generated = list(synthetic.generate(instances))
        for i, name in enumerate(names):
            batch = generated[i::len(names)]
            if batch:
                healthcare.store_instances(name, batch)
        typer.echo(f"✓ stored {plural(len(generated), 'synthetic instance')} across {plural(len(names), 'store')}")
