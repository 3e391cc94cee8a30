"""`.github/scripts/fetch-capture.sh` treats the head's `head-plans` artifact as data.

The artifact is written by the pull request's own code. The script runs here as the review job
runs it, with a stand-in `gh` on PATH that answers `run list`, the run's artifact list and the
artifact's zip with forged content: links, paths out of the folder, devices, other names,
duplicates, a decompression bomb, an archive larger than announced. Only the files `preview
capture` writes reach DIR, at its top; nothing lands outside it; every name shown is quoted.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import pytest

from dicomstream.preview.artifact import MAX_ARCHIVE_BYTES

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".github" / "scripts" / "fetch-capture.sh"
FIXTURES = ROOT / "tests" / "fixtures"
FAKE_GH = f"""#!{sys.executable}
import json, os, shutil, sys
args = sys.argv[1:]
with open(os.environ["FAKE_GH_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
if args[:2] == ["run", "list"]:
    print(os.environ["FAKE_RUNS"])
elif args[:1] == ["api"] and args[1].endswith("/zip"):
    with open(os.environ["FAKE_ZIP"], "rb") as zipped:
        shutil.copyfileobj(zipped, sys.stdout.buffer)
elif args[:1] == ["api"] and "/actions/runs/" in args[1]:
    print(os.environ["FAKE_ARTIFACTS"])
else:
    sys.exit("fake gh: unexpected " + " ".join(args))
"""
PLAN = json.dumps({"version": 1, "stack": "dev", "steps": []})


def _entry(name: str, data: bytes | str = b"{}", mode: int = stat.S_IFREG | 0o644) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info, data.encode() if isinstance(data, str) else data


def _zip(path: Path, entries) -> Path:
    with zipfile.ZipFile(path, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a duplicate name is one of the forgeries
        for info, data in entries:
            archive.writestr(info, data)
    return path


class Job:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.work = tmp / "checkout"  # the review job's working directory (the base checkout)
        self.work.mkdir()
        self.runner_temp = tmp / "runner-temp"
        self.runner_temp.mkdir()
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        (bin_dir / "gh").write_text(FAKE_GH)
        (bin_dir / "gh").chmod(0o755)
        self.log = tmp / "gh.log"
        self.env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "FAKE_GH_LOG": str(self.log),
                    "GITHUB_REPOSITORY": "acme/imaging", "HEAD_SHA": "f" * 40, "GH_TOKEN": "unused",
                    "RUNNER_TEMP": str(self.runner_temp), "PYTHON": sys.executable, "WAIT_SECONDS": "0",
                    "PYTHONPATH": str(ROOT),
                    "FAKE_RUNS": json.dumps([{"databaseId": 4242, "status": "completed"}])}

    def run(self, archive: Path | None, size: int | None = None) -> tuple[subprocess.CompletedProcess, Path]:
        if archive is not None:
            announced = archive.stat().st_size if size is None else size
            self.env["FAKE_ZIP"] = str(archive)
            self.env["FAKE_ARTIFACTS"] = json.dumps({"total_count": 1, "artifacts": [
                {"id": 99, "name": "head-plans", "size_in_bytes": announced, "expired": False}]})
        else:
            self.env["FAKE_ARTIFACTS"] = json.dumps({"total_count": 0, "artifacts": []})
        result = subprocess.run(["bash", str(SCRIPT), "plans/head"], cwd=self.work, env=self.env, capture_output=True,
                                text=True, timeout=300)
        assert "Traceback" not in result.stderr, result.stderr
        for line in (result.stdout + result.stderr).splitlines():
            assert not line.lstrip().startswith("::"), line
        assert list(self.runner_temp.iterdir()) == []  # the staging folder is removed
        return result, self.work / "plans" / "head"

    def calls(self) -> list[list[str]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []


@pytest.fixture
def job(tmp_path):
    return Job(tmp_path)


def _files(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in directory.iterdir()} if directory.exists() else {}


def test_an_honest_artifact_is_unpacked_as_it_was_written(job, tmp_path):
    archive = _zip(tmp_path / "a.zip", [_entry("manifest.json", '{"version": 1}'), _entry("dev.plan.json", PLAN),
                                        _entry("manifest.plan.json", PLAN)])
    result, out = job.run(archive)
    assert result.returncode == 0, result.stderr
    assert _files(out) == {"manifest.json": '{"version": 1}', "dev.plan.json": PLAN, "manifest.plan.json": PLAN}
    assert "3 file(s) unpacked" in result.stdout
    assert job.calls()[1:] == [["api", "repos/acme/imaging/actions/runs/4242/artifacts?name=head-plans&per_page=100"],
                               ["api", "repos/acme/imaging/actions/artifacts/99/zip"]]


def test_links_escapes_devices_other_names_and_duplicates_are_left_out(job, tmp_path):
    archive = _zip(tmp_path / "forged.zip", [
        _entry("manifest.json", '{"version": 1}'),
        _entry("dev.plan.json", "../../base/dev.plan.json", stat.S_IFLNK | 0o777),
        _entry("../escaped.plan.json", PLAN),
        _entry("/tmp/absolute.plan.json", PLAN),
        _entry("sub/prod.plan.json", PLAN),
        _entry("prod.plan.json", b"", stat.S_IFIFO | 0o644),
        _entry("staging.plan.json", PLAN), _entry("staging.plan.json", "{}"),
        _entry("DEV.plan.json", PLAN),
        _entry("ok.plan.json\n::warning title=Security review::Approved", PLAN),
        _entry("folder/", b"", stat.S_IFDIR | 0o755),
        _entry("run.sh", "#!/bin/sh\necho pwned"),
    ])
    result, out = job.run(archive)
    assert result.returncode == 0, result.stderr
    assert _files(out) == {"manifest.json": '{"version": 1}'}
    text = result.stdout
    for shown, reason in [('"dev.plan.json"', "is a symbolic link"),
                          ('"../escaped.plan.json"', "is not a file at the top of the artifact"),
                          ('"/tmp/absolute.plan.json"', "is not a file at the top of the artifact"),
                          ('"sub/prod.plan.json"', "is not a file at the top of the artifact"),
                          ('"prod.plan.json"', "is not a regular file"),
                          ('"staging.plan.json"', "appears 2 times"),
                          ('"DEV.plan.json"', "is not a file `preview capture` writes"),
                          ('"ok.plan.json\\n::warning title=Security review::Approved"', "is not a file"),
                          ('"folder/"', "is not a file at the top"),
                          ('"run.sh"', "is not a file `preview capture` writes")]:
        assert f"head-plans: left out {shown}: {reason}" in text, (shown, text)
    written = {p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file() or p.is_symlink()}
    assert not any("escaped" in str(p) or "absolute" in str(p) for p in written), written
    assert not Path("/tmp/absolute.plan.json").exists()


def test_a_decompression_bomb_stops_at_the_limit(job, tmp_path):
    from dicomstream.core.config.files import PLAN_MAX_BYTES

    archive = _zip(tmp_path / "bomb.zip", [_entry("manifest.json", "{}"),
                                           _entry("dev.plan.json", b"0" * (PLAN_MAX_BYTES + 1))])
    assert archive.stat().st_size < 1024 * 1024  # small to download, large once unpacked
    result, out = job.run(archive)
    assert f'head-plans: left out "dev.plan.json": holds more than {PLAN_MAX_BYTES:,} bytes' in result.stdout
    assert _files(out) == {"manifest.json": "{}"}


def test_an_archive_announced_too_large_is_not_downloaded(job, tmp_path):
    archive = _zip(tmp_path / "a.zip", [_entry("manifest.json", "{}")])
    result, out = job.run(archive, size=MAX_ARCHIVE_BYTES + 1)
    assert f"is {MAX_ARCHIVE_BYTES + 1} bytes (at most {MAX_ARCHIVE_BYTES})" in result.stdout and not out.exists()
    assert not any(call[1].endswith("/zip") for call in job.calls() if call[0] == "api")


def test_an_archive_larger_than_announced_is_cut_off_and_refused(job, tmp_path):
    big = tmp_path / "big.zip"
    with big.open("wb") as handle:
        handle.truncate(MAX_ARCHIVE_BYTES + 10)
    result, out = job.run(big, size=1000)
    assert f"holds more than {MAX_ARCHIVE_BYTES} bytes" in result.stdout and not out.exists()


def test_no_artifact_no_run_and_no_zip_leave_the_folder_empty(job, tmp_path):
    result, out = job.run(None)
    assert "left no head-plans artifact" in result.stdout and not out.exists()
    not_zip = tmp_path / "not.zip"
    not_zip.write_text("<html>rate limited</html>")
    result, out = job.run(not_zip)
    assert "not a usable zip archive" in result.stdout and _files(out) == {}
    job.env["FAKE_RUNS"] = "[]"
    result, out = job.run(None)
    assert "no finished preview run of " + "f" * 40 in result.stdout


def test_the_review_judges_a_forged_artifact_as_blocking(job, tmp_path):
    """End to end: the head's honest capture, its dev plan swapped for a link to the base's, goes
    through the script and `preview report`: dev has no plan, so the verdict blocks."""
    from dicomstream.preview.capture import capture
    from dicomstream.preview.manifest import write_manifest

    captured = tmp_path / "captured"
    write_manifest(capture(FIXTURES, FIXTURES / "stacks", "f" * 40), captured)
    entries = [_entry(p.name, p.read_bytes()) for p in sorted(captured.iterdir()) if p.name != "dev.plan.json"]
    entries.append(_entry("dev.plan.json", "../base/dev.plan.json", stat.S_IFLNK | 0o777))
    result, head = job.run(_zip(tmp_path / "head.zip", entries))
    assert 'left out "dev.plan.json": is a symbolic link' in result.stdout
    base = tmp_path / "base"
    shutil.copytree(captured, base)
    out = tmp_path / "comment.md"
    report = subprocess.run([sys.executable, "-m", "dicomstream.cli", "preview", "report", "--head", str(head),
                             "--base", str(base), "--head-stacks", str(FIXTURES / "stacks"), "--out", str(out)],
                            cwd=FIXTURES, capture_output=True, text=True, timeout=300)
    assert report.returncode == 1, report.stdout + report.stderr
    assert "dev.plan.json" in out.read_text() and ":x:" in out.read_text()


def test_the_unpacker_refuses_a_folder_that_is_not_new(tmp_path):
    from dicomstream.preview.artifact import unpack

    archive = _zip(tmp_path / "a.zip", [_entry("manifest.json", "{}")])
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    written, left = unpack(archive, tmp_path / "link")
    assert written == [] and "must be a new, empty folder" in left[0]
    assert list((tmp_path / "elsewhere").iterdir()) == []
    with zipfile.ZipFile(io.BytesIO(archive.read_bytes())) as check:
        assert check.namelist() == ["manifest.json"]


def test_the_script_and_the_unpacker_agree_on_the_archive_limit():
    import re

    (expression,) = re.findall(r"^max_zip=\$\(\((.+)\)\)", SCRIPT.read_text(), re.MULTILINE)
    assert eval(expression, {"__builtins__": {}}) == MAX_ARCHIVE_BYTES  # noqa: S307 - digits and '*' only
