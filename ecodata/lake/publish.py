"""``ecodata publish URL``: copy a data directory's committed files to a lake, incrementally.

What is published (everything a reader needs, nothing in flight), in *units*, each a set of data
files and the manifest that names them:

* per endpoint, its record store (``raw/<e>/_store/store-*.parquet``, then ``_store.json``), then
  each committed raw day (``raw/<e>/snapshot_date=D/`` parts or index, then ``_manifest.json``);
* per table, its change files (``history/<t>/<day>-<token>.parquet``, then ``_history.json``);
  the ``_state-*`` caches are left out (a writer's shortcut, not data);
* ``fx_rates.csv`` when the directory keeps one, and ``_views/duckdb.sql``: the DuckDB views
  script (:func:`ecodata.sql.views_script`) that :func:`ecodata.open` runs on the lake.

Staging areas, locks, ``ecodata.duckdb`` and anything no manifest names are never sent. The
manifests are the source of truth: each is read once (under the data directory's lock, so no
writer is half-way through; the lock is released before anything is sent), the files it names are
uploaded, and the manifest bytes that were read go last. Every data file of every unit goes before
any manifest, and the store's list before the raw days that read it, so a reader of the lake sees
a unit complete or not at all.

Idempotent: the target keeps a ledger (``_publish/ledger.json``: each object's size and SHA-256).
A file is sent again only when the object is missing, has another size, or the ledger holds
another checksum. Checksums come from the manifests (raw parts, index and store files carry their
SHA-256); other files are hashed, or recognised by size and modification time from the ledger (the
rsync quick check), so a second publish of an unchanged directory reads no data file. The ledger
is written after each batch of uploads, so a publish killed mid-way resumes with what is missing.
``delete`` removes, after the manifests, the objects no manifest names any more (days pruned or
compacted locally).
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import functools
import hashlib
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecodata.errors import ConfigError, StorageError
from ecodata.lake._target import Target, open_target
from ecodata.lock import data_dir_lock
from ecodata.paths import (
    HISTORY_MANIFEST,
    MANIFEST_NAME,
    PARTITION_PREFIX,
    STORE_DIR,
    STORE_MANIFEST,
    DataPaths,
)
from ecodata.settings import DEFAULT_LOCK_TIMEOUT_S

LEDGER = "_publish/ledger.json"
VIEWS_SCRIPT = "_views/duckdb.sql"
LEDGER_FORMAT = 1
_BATCH_BYTES = 256 * 1024 * 1024  # the ledger is written after each batch this large (resume granularity)
_BATCH_FILES = 256


@dataclass(frozen=True)
class Item:
    """One object to publish: a local file or bytes generated now, and its checksum when known."""

    relative: str
    size: int
    source: Path | None = None
    content: bytes | None = None
    sha256: str | None = None
    inputs: str | None = None  # the views script: fingerprint of what it is generated from


@dataclass
class Unit:
    """Files published together: ``data`` first, then ``manifest`` (which names them), if any."""

    name: str
    data: list[Item] = field(default_factory=list)
    manifest: Item | None = None

    def items(self) -> list[Item]:
        """The unit's files in the order they are sent: its data, then its manifest."""
        return [*self.data, *([self.manifest] if self.manifest else [])]


@dataclass
class PublishReport:
    """What a publish sent (or, with ``dry_run``, would send)."""

    url: str
    dry_run: bool
    sent: list[str] = field(default_factory=list)
    sent_bytes: int = 0
    unchanged: int = 0
    deleted: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        verb = "would send" if self.dry_run else "sent"
        lines = []
        if self.dry_run:
            lines += [f"would send {name}" for name in self.sent]
            lines += [f"would delete {name}" for name in self.deleted]
        lines.append(f"{verb} {len(self.sent)} file(s), {self.sent_bytes / 1e6:.1f} MB, to {self.url}; "
                     f"{self.unchanged} already published" + ("" if self.dry_run else f" ({self.seconds:.1f} s)"))
        if self.deleted:
            lines.append(f"{'would delete' if self.dry_run else 'deleted'} {len(self.deleted)} stale object(s)")
        if self.stale:
            lines.append(f"{len(self.stale)} object(s) no manifest names any more are kept: "
                         "publish with --delete to remove them")
        return lines


def publish(data_dir: Path, url: str, *, dry_run: bool = False, delete: bool = False,
            progress: bool | None = None, env: Mapping[str, str] | None = None,
            lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> PublishReport:
    """Publish ``data_dir`` to ``url`` (``s3://bucket/prefix``, ``gs://``, ``az://`` or a directory).

    ``env`` holds the variables the object store is configured from (default: the process's);
    ``progress`` a bar of bytes sent (None: only on a terminal).

    Example: ``publish(Path("data"), "s3://analytics/ecodata").lines()``.
    """
    started = time.monotonic()
    paths = DataPaths(Path(data_dir))
    if not paths.root.is_dir():
        raise ConfigError(f"data directory {paths.root} does not exist: run 'ecodata build' first "
                          "or pass the right --data-dir")
    target = open_target(url, env)
    if target.local and _inside(Path(target.root), paths.root.resolve()):
        raise ConfigError(f"cannot publish {paths.root} into {target.root}: the lake would be inside the data "
                          "directory (or the other way round); choose another directory")
    remote = target.listing()
    ledger = _load_ledger(target)
    with data_dir_lock(paths, "publish", timeout_s=lock_timeout_s):
        units = plan_units(paths, ledger, generate=False)
    views = units[-1].manifest if units and units[-1].name == "views" else None
    if views is not None and views.sha256 is not None and remote.get(VIEWS_SCRIPT) != views.size:
        views = units[-1].manifest = Item(VIEWS_SCRIPT, 0, inputs=views.inputs)  # the ledger's copy is gone
    pending = views if views is not None and views.sha256 is None else None
    report = PublishReport(url=target.url, dry_run=dry_run)
    send: list[Item] = []
    sums: dict[str, str] = {}
    for unit in units:
        for item in unit.items():
            if item is pending:
                continue
            sums[item.relative] = _checksum(item, ledger)
            if _published(item, sums[item.relative], remote, ledger):
                report.unchanged += 1
            else:
                send.append(item)
    if pending is not None:
        send.append(pending)  # the last unit's manifest: last
    named = {item.relative for unit in units for item in unit.items()}
    stale = sorted(name for name in remote if name not in named and name != LEDGER and _ours(name))
    manifests = {unit.manifest.relative for unit in units if unit.manifest is not None}
    data = [item for item in send if item.relative not in manifests]
    last = [item for item in send if item.relative in manifests]  # in unit order: store lists first
    report.sent = [item.relative for item in [*data, *last]]  # the order they are sent in
    report.sent_bytes = sum(item.size for item in send)
    (report.deleted if delete else report.stale).extend(stale)
    if dry_run:
        return report
    bar = _progress(progress, report.sent_bytes)
    # the views script (which loads DuckDB and polars) is written while the data files are sent
    script = None if pending is None else _BACKGROUND.submit(_views_item, paths, str(pending.inputs))
    try:
        for batch in _batches(data):
            _send(target, batch, sums, ledger, bar)
            _save_ledger(target, ledger)
        if script is not None:
            made = script.result()
            if made.inputs != _views_inputs(paths):
                raise StorageError(f"the tables in {paths.root} changed while publishing (a build or transform ran): "
                                   "run ecodata publish again (what was sent is kept; no manifest is half-sent)")
            last = [made if item is pending else item for item in last]
            sums[VIEWS_SCRIPT] = str(made.sha256)
            report.sent_bytes += made.size
        for wave in _waves(last):
            _send(target, wave, sums, ledger, bar)
        if send:
            _save_ledger(target, ledger)
        if delete and stale:
            target.remove(stale)
            for name in stale:
                ledger.pop(name, None)
            _save_ledger(target, ledger)
    finally:
        bar.close()
    report.seconds = time.monotonic() - started
    return report


def plan_units(paths: DataPaths, ledger: Mapping[str, Mapping[str, Any]] | None = None, *,
               generate: bool = True) -> list[Unit]:
    """The units to publish, in order, from the manifests as they are now (read each once).

    The views script is generated (which loads DuckDB and polars) only when what it is made of
    changed since the ledger's copy: the tables' history lists, the kept rates and ecodata itself;
    without ``generate`` it is then left to the caller (an item with neither content nor checksum).
    """
    units: list[Unit] = []
    inputs = hashlib.sha256(_package_fingerprint().encode())
    raw_root = paths.raw_root
    for endpoint_dir in sorted(p for p in _dirs(raw_root)):
        store = endpoint_dir / STORE_DIR / STORE_MANIFEST
        if store.is_file():
            body = store.read_bytes()
            listed = _json(body, store)
            unit = Unit(f"raw/{endpoint_dir.name}/{STORE_DIR}")
            for f in listed.get("files", []):
                unit.data.append(_local(paths, store.parent / str(f["name"]), str(f["sha256"])))
            unit.manifest = _generated(paths.history_relative(store), body)
            units.append(unit)
        for day in sorted(p for p in _dirs(endpoint_dir) if p.name.startswith(PARTITION_PREFIX)):
            manifest = day / MANIFEST_NAME
            if not manifest.is_file():
                continue  # not committed: invisible to readers, not published
            body = manifest.read_bytes()
            listed = _json(body, manifest)
            unit = Unit(paths.history_relative(day))
            for f in listed.get("files", []):
                unit.data.append(_local(paths, day / str(f["name"]), str(f["sha256"])))
            unit.manifest = _generated(paths.history_relative(manifest), body)
            units.append(unit)
    for table_dir in sorted(_dirs(paths.history_root)):
        manifest = table_dir / HISTORY_MANIFEST
        if not manifest.is_file():
            continue
        body = manifest.read_bytes()
        inputs.update(f"{table_dir.name}\0{len(body)}\0".encode() + body)
        listed = _json(body, manifest)
        unit = Unit(paths.history_relative(table_dir))
        for day in listed.get("days", []):
            unit.data.append(_local(paths, table_dir / str(day["file"]), None))
        unit.manifest = _generated(paths.history_relative(manifest), body)
        units.append(unit)
    extras = Unit("views")
    if paths.fx_rates_path.is_file():
        rates = paths.fx_rates_path.read_bytes()
        inputs.update(b"fx_rates\0" + rates)
        extras.data.append(_generated(paths.fx_rates_path.name, rates))
    if units:
        fingerprint = inputs.hexdigest()
        entry = (ledger or {}).get(VIEWS_SCRIPT)
        if entry is not None and entry.get("inputs") == fingerprint:
            extras.manifest = Item(VIEWS_SCRIPT, int(entry["size"]), sha256=str(entry["sha256"]), inputs=fingerprint)
        elif generate:
            extras.manifest = _views_item(paths, fingerprint)
        else:
            extras.manifest = Item(VIEWS_SCRIPT, 0, inputs=fingerprint)
        units.append(extras)
    return units


def _views_inputs(paths: DataPaths) -> str:
    """The fingerprint :func:`plan_units` gives the views script's inputs, read again now."""
    return str(plan_units(paths, {}, generate=False)[-1].manifest.inputs)  # type: ignore[union-attr]


_BACKGROUND = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="ecodata-views")


def _views_item(paths: DataPaths, fingerprint: str) -> Item:
    from ecodata.sql import views_script

    content = (views_script(paths) + "\n").encode()
    return Item(VIEWS_SCRIPT, len(content), content=content, sha256=hashlib.sha256(content).hexdigest(),
                inputs=fingerprint)


@functools.cache
def _package_fingerprint() -> str:
    """Names, sizes and modification times of ecodata's own files (code, SQL, shipped rates): a new
    version of ecodata writes the views script anew."""
    package = Path(__file__).resolve().parent.parent
    found = []
    for file in sorted(package.rglob("*")):
        if file.is_file() and "__pycache__" not in file.parts:
            stat = file.stat()
            found.append(f"{file.relative_to(package).as_posix()}:{stat.st_size}:{stat.st_mtime_ns}")
    return "\n".join(found)


def _dirs(folder: Path) -> Iterable[Path]:
    if not folder.is_dir():
        return []
    return [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("_")]


def _json(body: bytes, where: Path) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise StorageError(f"cannot read {where}: {exc}; repair the data directory before publishing") from None
    if not isinstance(data, dict):
        raise StorageError(f"cannot read {where}: not a JSON object; repair the data directory before publishing")
    return data


def _local(paths: DataPaths, file: Path, sha256: str | None) -> Item:
    try:
        size = file.stat().st_size
    except FileNotFoundError:
        raise StorageError(f"{file} is named by its manifest but missing: the data directory is damaged "
                           "(run 'ecodata snapshots' to see which day)") from None
    return Item(paths.history_relative(file), size, source=file, sha256=sha256)


def _generated(relative: str, content: bytes) -> Item:
    return Item(relative, len(content), content=content, sha256=hashlib.sha256(content).hexdigest())


def _inside(a: Path, b: Path) -> bool:
    return a == b or b in a.parents or a in b.parents


def _ours(name: str) -> bool:
    """Objects publish manages (so ``--delete`` never touches what else lives under the prefix)."""
    return name.startswith(("raw/", "history/")) or name in (VIEWS_SCRIPT, "fx_rates.csv")


# --- checksums and the ledger ---------------------------------------------------------------


def _load_ledger(target: Target) -> dict[str, dict[str, Any]]:
    body = target.read_bytes(LEDGER)
    if body is None:
        return {}
    try:
        data = json.loads(body)
        files: dict[str, dict[str, Any]] = dict(data["files"])
    except (ValueError, KeyError, TypeError):
        return {}  # a damaged ledger only costs sending everything again
    return files


def _save_ledger(target: Target, ledger: dict[str, dict[str, Any]]) -> None:
    body = {"format": LEDGER_FORMAT, "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "files": dict(sorted(ledger.items()))}
    target.write_bytes(LEDGER, json.dumps(body, indent=0).encode())


def _checksum(item: Item, ledger: Mapping[str, Mapping[str, Any]]) -> str:
    """The item's SHA-256: known, or the ledger's when size and mtime still match, or hashed now."""
    if item.sha256 is not None:
        return item.sha256
    assert item.source is not None
    stat = item.source.stat()
    entry = ledger.get(item.relative)
    if entry and entry.get("size") == stat.st_size and entry.get("mtime_ns") == stat.st_mtime_ns:
        return str(entry["sha256"])
    digest = hashlib.sha256()
    with item.source.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _published(item: Item, sha256: str, remote: Mapping[str, int], ledger: Mapping[str, Mapping[str, Any]]) -> bool:
    if remote.get(item.relative) != item.size:
        return False
    entry = ledger.get(item.relative)
    return entry is not None and entry.get("size") == item.size and entry.get("sha256") == sha256


def _entry(item: Item, sha256: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"size": item.size, "sha256": sha256}
    if item.source is not None:
        entry["mtime_ns"] = item.source.stat().st_mtime_ns
    if item.inputs is not None:
        entry["inputs"] = item.inputs
    return entry


def _waves(manifests: list[Item]) -> list[list[Item]]:
    """Manifests in the order readers need, each wave sent at once: the record stores' lists (the
    compacted days read them), then the raw days' and the tables' lists, then the views script."""
    first = [m for m in manifests if m.relative.endswith(STORE_MANIFEST)]
    last = [m for m in manifests if m.relative == VIEWS_SCRIPT]
    middle = [m for m in manifests if m not in first and m not in last]
    return [wave for wave in (first, middle, last) if wave]


def _batches(items: list[Item]) -> Iterable[list[Item]]:
    batch: list[Item] = []
    size = 0
    for item in items:
        batch.append(item)
        size += item.size
        if size >= _BATCH_BYTES or len(batch) >= _BATCH_FILES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _send(target: Target, items: list[Item], sums: Mapping[str, str], ledger: dict[str, dict[str, Any]],
          bar: _Bar) -> None:
    """Upload ``items``: the local files in one concurrent put, then the generated ones (at once
    where the store allows it), and record them in ``ledger``."""
    entries = {item.relative: _entry(item, sums[item.relative]) for item in items}
    files = [(item.source, item.relative) for item in items if item.source is not None]
    target.put_files(files)
    generated = {item.relative: item.content for item in items if item.content is not None}
    target.write_many(generated)
    bar.advance(sum(item.size for item in items))
    ledger.update(entries)


# --- progress -----------------------------------------------------------------------------------


class _Bar:
    def advance(self, sent: int) -> None:
        pass

    def close(self) -> None:
        pass


class _RichBar(_Bar):
    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(TextColumn("publish"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                                  TimeRemainingColumn(), console=Console(stderr=True))
        self._task = self._progress.add_task("publish", total=total)
        self._progress.start()

    def advance(self, sent: int) -> None:
        self._progress.update(self._task, advance=sent)

    def close(self) -> None:
        self._progress.stop()


def _progress(enabled: bool | None, total: int) -> _Bar:
    if enabled is None:
        import sys

        enabled = sys.stderr.isatty()
    return _RichBar(total) if enabled and total else _Bar()
