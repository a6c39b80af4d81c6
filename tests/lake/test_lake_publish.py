import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import s3fs
from click.testing import CliRunner
from lake_support import SECRET

from ecodata.cli import cli
from ecodata.errors import ConfigError, StorageError
from ecodata.lake import LEDGER, VIEWS_SCRIPT, open_target, publish
from ecodata.paths import DataPaths
from ecodata.pipeline import prune_dataset
from ecodata.settings import Settings
from ecodata.sql import views_script


def expected_objects(data: Path) -> dict[str, bytes]:
    """What a reader needs, found by walking the directory: committed raw files, history day files and
    manifests, the views script; no staging, lock, state cache or view file."""
    found = {}
    for area in ("raw", "history"):
        for file in (data / area).rglob("*"):
            relative = file.relative_to(data).as_posix()
            if not file.is_file() or "/_staging/" in relative or file.name.startswith("_state-") \
                    or file.suffix == ".lock" or file.name.endswith(".tmp"):
                continue
            found[relative] = file.read_bytes()
    if (data / "fx_rates.csv").is_file():
        found["fx_rates.csv"] = (data / "fx_rates.csv").read_bytes()
    found[VIEWS_SCRIPT] = (views_script(DataPaths(data)) + "\n").encode()
    return found


def lake_objects(url: str) -> dict[str, bytes]:
    fs = s3fs.S3FileSystem()
    root = url.removeprefix("s3://")
    fs.invalidate_cache()
    return {name.removeprefix(root + "/"): fs.cat_file(name) for name in fs.find(root)
            if not name.endswith(LEDGER)}


def manifests_complete(url: str) -> list[str]:
    """Every manifest on the lake whose files are not all there (must be none, at any moment)."""
    objects = lake_objects(url)
    missing = []
    for name, body in objects.items():
        folder = name.rpartition("/")[0]
        if name.endswith("_manifest.json") or name.endswith("_store.json"):
            named = [f["name"] for f in json.loads(body)["files"]]
        elif name.endswith("_history.json"):
            named = [d["file"] for d in json.loads(body)["days"]]
        else:
            continue
        missing += [f"{folder}/{n}" for n in named if f"{folder}/{n}" not in objects]
    return missing


def test_publish_sends_every_committed_file_and_nothing_else(demo_data, s3):
    report = publish(demo_data, s3, progress=False)

    objects = lake_objects(s3)
    assert objects == expected_objects(demo_data)
    assert len(report.sent) == len(objects)
    assert report.sent_bytes == sum(len(body) for body in objects.values())
    assert not [name for name in objects if "_state-" in name or "_staging" in name or name.endswith(".duckdb")]
    assert manifests_complete(s3) == []
    # the manifests go after every data file, the store list before the raw days that read it
    manifests = [i for i, name in enumerate(report.sent) if name.endswith(("_manifest.json", "_store.json",
                                                                           "_history.json", VIEWS_SCRIPT))]
    assert min(manifests) > max(i for i in range(len(report.sent)) if i not in manifests)
    assert report.sent[-1] == VIEWS_SCRIPT


def test_second_publish_sends_nothing_and_a_changed_file_is_sent_again(demo_data, s3, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(demo_data, data)
    publish(data, s3, progress=False)

    again = publish(data, s3, progress=False)
    assert again.sent == []
    assert again.unchanged == len(expected_objects(data))

    rates = "rate_date,currency,units_per_eur\n2026-06-01,GBP,0.5\n2026-06-01,CHF,0.9\n"
    (data / "fx_rates.csv").write_text(rates)
    changed = publish(data, s3, progress=False)
    assert set(changed.sent) == {"fx_rates.csv", VIEWS_SCRIPT}
    assert lake_objects(s3) == expected_objects(data)


def test_cli_second_publish_says_zero_files(demo_data, s3):
    runner = CliRunner()
    first = runner.invoke(cli, ["--data-dir", str(demo_data), "publish", s3, "--no-progress"])
    second = runner.invoke(cli, ["--data-dir", str(demo_data), "publish", s3, "--no-progress"])

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    count = len(expected_objects(demo_data))
    assert f"sent {count} file(s)" in first.output
    assert f"sent 0 file(s), 0.0 MB, to {s3}; {count} already published" in second.output
    assert SECRET not in first.output + second.output


def test_a_publish_with_nothing_changed_does_not_load_duckdb_or_polars(demo_data, s3):
    publish(demo_data, s3, progress=False)
    code = ("import sys; from pathlib import Path; from ecodata.lake import publish; "
            f"report = publish(Path({str(demo_data)!r}), {s3!r}, progress=False); "
            "print(len(report.sent), 'duckdb' in sys.modules, 'polars' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "False", "False"]


def test_dry_run_lists_what_it_would_send_and_sends_nothing(demo_data, s3):
    result = CliRunner().invoke(cli, ["--data-dir", str(demo_data), "publish", s3, "--dry-run"])

    assert result.exit_code == 0, result.output
    assert lake_objects(s3) == {}
    listed = {line.removeprefix("would send ") for line in result.output.splitlines()
              if line.startswith("would send ") and " file(s)" not in line}
    assert listed == set(expected_objects(demo_data))


_SLOW_PUBLISH = """
import sys, time
import ecodata.lake.publish as publish
from ecodata.lake._target import Target
publish._BATCH_FILES = 3
put = Target.put_files
def slow(self, pairs):
    put(self, pairs)
    time.sleep(0.4)
Target.put_files = slow
from ecodata.cli import main
sys.argv = ["ecodata", *sys.argv[1:]]
main()
"""


def test_a_publish_killed_mid_way_resumes_and_the_lake_equals_the_source(demo_data, s3):
    command = [sys.executable, "-c", _SLOW_PUBLISH, "--data-dir", str(demo_data), "publish", s3, "--no-progress"]
    process = subprocess.Popen(command, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    fs = s3fs.S3FileSystem()
    ledger = f"{s3.removeprefix('s3://')}/{LEDGER}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        fs.invalidate_cache()
        if fs.exists(ledger):  # at least one batch is sent and recorded
            break
        time.sleep(0.05)
    assert process.poll() is None, process.communicate()
    process.send_signal(signal.SIGKILL)
    process.wait()

    partial = lake_objects(s3)
    total = expected_objects(demo_data)
    assert 0 < len(partial) < len(total)
    assert manifests_complete(s3) == []  # no manifest is visible before the files it names
    assert VIEWS_SCRIPT not in partial

    resumed = publish(demo_data, s3, progress=False)
    assert lake_objects(s3) == total
    assert 0 < len(resumed.sent) < len(total)  # what the killed run recorded is not sent again
    assert publish(demo_data, s3, progress=False).sent == []


def test_delete_removes_what_no_manifest_names_after_a_local_prune(demo_data, s3, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(demo_data, data)
    publish(data, s3, progress=False)
    prune_dataset(Settings.from_env(env={}, data_dir=data), DataPaths(data).table_dates("prices")[-1])

    kept = publish(data, s3, progress=False)
    assert kept.stale
    assert kept.deleted == []
    assert set(lake_objects(s3)) > set(expected_objects(data))

    removed = publish(data, s3, delete=True, progress=False)
    assert sorted(removed.deleted) == sorted(kept.stale)
    assert lake_objects(s3) == expected_objects(data)
    assert manifests_complete(s3) == []


def test_publish_to_a_local_directory(demo_data, tmp_path):
    lake = tmp_path / "lake"
    publish(demo_data, str(lake), progress=False)

    published = {p.relative_to(lake).as_posix(): p.read_bytes() for p in lake.rglob("*")
                 if p.is_file() and not p.relative_to(lake).as_posix().startswith("_publish/")}
    assert published == expected_objects(demo_data)
    assert publish(demo_data, str(lake), progress=False).sent == []
    assert not list(lake.rglob("*.tmp"))


def test_publish_into_the_data_directory_is_refused(demo_data):
    with pytest.raises(ConfigError, match="inside the data directory"):
        publish(demo_data, str(demo_data / "lake"), progress=False)


def test_without_the_extra_the_cli_says_what_to_install(demo_data, monkeypatch):
    monkeypatch.setitem(sys.modules, "fsspec", None)
    result = CliRunner().invoke(cli, ["--data-dir", str(demo_data), "publish", "s3://bucket/lake"])

    assert result.exit_code == ConfigError.exit_code
    assert result.output.strip().splitlines() == [
        "ecodata: error: a lake at s3:// needs the fsspec library: pip install 'ecodata[s3]'"]


def test_plain_http_endpoint_is_refused_unless_loopback():
    with pytest.raises(ConfigError, match=r"plain http to minio\.example\.org"):
        open_target("s3://bucket/lake", {"AWS_ENDPOINT_URL": "http://minio.example.org:9000"})
    assert open_target("s3://bucket/lake", {"AWS_ENDPOINT_URL": "http://127.0.0.1:9000"}).root == "bucket/lake"


def test_store_errors_are_one_line_without_secrets(demo_data, s3, moto_endpoint):
    target = open_target(s3)
    with pytest.raises(StorageError) as caught, target.errors("write x"):
        raise RuntimeError(f"signature for key {SECRET} refused\nmore detail")
    assert SECRET not in str(caught.value)
    assert "\n" not in str(caught.value)

    missing = "s3://no-such-bucket-" + s3.split("/")[2] + "/lake"
    result = CliRunner().invoke(cli, ["--data-dir", str(demo_data), "publish", missing, "--no-progress"])
    assert result.exit_code == StorageError.exit_code
    assert result.output.startswith("ecodata: error: cannot ")
    assert SECRET not in result.output


def test_a_build_while_publishing_is_one_error_and_the_next_publish_completes(demo_data, s3, tmp_path, monkeypatch):
    publishing = importlib.import_module("ecodata.lake.publish")  # the module, not ecodata.lake.publish()

    data = tmp_path / "data"
    shutil.copytree(demo_data, data)
    make = publishing._views_item

    def build_meanwhile(paths, fingerprint):
        made = make(paths, fingerprint)
        manifest = DataPaths(data).history_manifest("prices")
        manifest.write_bytes(manifest.read_bytes() + b"\n")  # what a transform's new list looks like here
        return made

    monkeypatch.setattr(publishing, "_views_item", build_meanwhile)
    with pytest.raises(StorageError, match="changed while publishing"):
        publish(data, s3, progress=False)
    partial = lake_objects(s3)
    assert VIEWS_SCRIPT not in partial
    assert not [name for name in partial if name.endswith(".json")]  # data only, no manifest

    monkeypatch.setattr(publishing, "_views_item", make)
    publish(data, s3, progress=False)
    assert lake_objects(s3) == expected_objects(data)
