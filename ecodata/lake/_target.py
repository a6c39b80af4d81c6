"""Where a lake lives: an fsspec filesystem and a root inside it, from a URL or a local path.

One object-store library for every kind of target: fsspec (``s3fs`` for ``s3://``, ``gcsfs`` for
``gs://``, ``adlfs`` for ``az://``, its own local filesystem for a path), also what DuckDB reads a
published lake through (``DuckDBPyConnection.register_filesystem``). Credentials come from where
each library looks for them (``AWS_*`` variables and profiles, ``GOOGLE_APPLICATION_CREDENTIALS``,
``AZURE_STORAGE_*``); ecodata never reads, prints or stores them, and every error message from
the store is scrubbed of the values of those variables before it is shown.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ecodata.errors import ConfigError, EcodataError, StorageError, first_line

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

# scheme -> (the fsspec package it needs, the ecodata extra that installs it)
SCHEMES = {"s3": ("s3fs", "s3"), "gs": ("gcsfs", "gcs"), "gcs": ("gcsfs", "gcs"), "az": ("adlfs", "azure"),
           "abfs": ("adlfs", "azure"), "file": ("fsspec", "s3")}
_SECRET_NAME = re.compile(r"(SECRET|TOKEN|KEY|PASSWORD|CREDENTIAL|SAS|CONNECTION_STRING)", re.I)
_LOOPBACK_NAMES = {"localhost"}
_LIBRARY_LOGGERS = ("fsspec", "s3fs", "gcsfs", "adlfs", "azure", "aiobotocore", "botocore")


@dataclass(frozen=True)
class Target:
    """A lake's location: ``fs`` with every object under ``root`` (a path in ``fs``, no scheme).

    ``url`` is what the user gave (without a trailing ``/``); ``base`` the prefix DuckDB reads the
    objects under (``s3://bucket/prefix``, or the absolute directory of a local lake).
    """

    url: str
    scheme: str
    fs: AbstractFileSystem
    root: str
    secrets: tuple[str, ...]

    @property
    def local(self) -> bool:
        return self.scheme == "file"

    @property
    def base(self) -> str:
        return self.root if self.local else f"{self.scheme}://{self.root}"

    def path(self, relative: str) -> str:
        """The ``fs`` path of an object given relative to the lake's root."""
        return f"{self.root}/{relative}"

    def relative(self, path: str) -> str:
        """A ``fs`` path (as ``find`` lists it) relative to the lake's root."""
        return path.removeprefix(self.root.rstrip("/") + "/")

    @contextlib.contextmanager
    def errors(self, doing: str) -> Iterator[None]:
        """Turn any failure of the store inside the block into one StorageError line without secrets."""
        try:
            yield
        except EcodataError:
            raise
        except Exception as exc:
            hint = {"s3": "the credentials and AWS_ENDPOINT_URL", "file": "the directory's permissions"}.get(
                self.scheme, "the credentials")
            raise StorageError(f"cannot {doing} at {self.url}: {self.scrub(first_line(exc))} "
                               f"(check the URL and {hint})") from None

    def scrub(self, text: str) -> str:
        return _scrub(text, self.secrets)

    def read_bytes(self, relative: str) -> bytes | None:
        """An object's content, or None when it does not exist."""
        with self.errors(f"read {relative}"):
            try:
                data: bytes = self.fs.cat_file(self.path(relative))
            except FileNotFoundError:
                return None
        return data

    def write_bytes(self, relative: str, data: bytes) -> None:
        """Put one object whole: an object store's PUT is atomic; a local file is renamed into place."""
        with self.errors(f"write {relative}"):
            if not self.local:
                self.fs.pipe_file(self.path(relative), data)
                return
            final = Path(self.path(relative))
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = final.with_name(f".{final.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
            try:
                tmp.write_bytes(data)
                os.replace(tmp, final)
            finally:
                tmp.unlink(missing_ok=True)

    def write_many(self, objects: Mapping[str, bytes]) -> None:
        """Put several objects whole, at once where the store allows it (each PUT is atomic)."""
        if self.local or len(objects) <= 1:
            for relative, data in objects.items():
                self.write_bytes(relative, data)
            return
        with self.errors(f"write {len(objects)} object(s)"):
            self.fs.pipe({self.path(rel): data for rel, data in objects.items()})

    def put_files(self, pairs: list[tuple[Path, str]]) -> None:
        """Upload local files to objects (relative names), concurrently where the store allows it."""
        if not pairs:
            return
        with self.errors(f"upload {len(pairs)} file(s)"):
            if self.local:
                for _, relative in pairs:
                    Path(self.path(relative)).parent.mkdir(parents=True, exist_ok=True)
            self.fs.put([str(source) for source, _ in pairs], [self.path(rel) for _, rel in pairs])

    def listing(self) -> dict[str, int]:
        """Every object under the root, relative name -> size (empty for a new lake)."""
        with self.errors("list the objects"):
            try:
                found = self.fs.find(self.root, detail=True)
            except FileNotFoundError:
                return {}
        sizes: dict[str, int] = {}
        for name, info in found.items():
            if info.get("type", "file") == "file":
                sizes[self.relative(name)] = int(info.get("size") or 0)
        return sizes

    def remove(self, relatives: list[str]) -> None:
        if relatives:
            with self.errors(f"remove {len(relatives)} stale object(s)"):
                self.fs.rm([self.path(rel) for rel in relatives])


def open_target(url: str, env: Mapping[str, str] | None = None) -> Target:
    """The :class:`Target` of ``url`` (``s3://bucket/prefix``, ``gs://``, ``az://``, or a local path).

    A missing object-store library is one ConfigError naming what to install; a plain ``http://``
    ``AWS_ENDPOINT_URL`` is accepted only for a loopback address (a local MinIO or test server),
    so credentials never cross a network unencrypted.

    Example: ``open_target("s3://my-bucket/ecodata").fs.ls("my-bucket/ecodata")``.
    """
    env = os.environ if env is None else env
    text = url.strip()
    if not text:
        raise ConfigError("empty lake URL: give s3://bucket/prefix, gs://..., az://... or a directory")
    scheme = text.split("://", 1)[0].lower() if "://" in text else "file"
    if scheme not in SCHEMES:
        raise ConfigError(f"cannot use {text}: the URL must start with s3://, gs://, az:// or be a local "
                          "directory")
    package, extra = SCHEMES[scheme]
    if scheme == "s3":
        _check_endpoint(env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL"))
    for name in _LIBRARY_LOGGERS:  # their retries log tracebacks; the failure is ours to report, once
        logging.getLogger(name).addHandler(logging.NullHandler())
    try:
        import fsspec
    except ImportError:
        raise ConfigError(f"{_what(scheme)} needs the fsspec library: pip install 'ecodata[{extra}]'") from None
    location = text.removeprefix("file://") if scheme == "file" else text.rstrip("/")
    if scheme == "file":
        location = str(Path(location).expanduser().resolve())
    secrets = tuple(value for name, value in env.items() if _SECRET_NAME.search(name) and len(value) >= 4)
    try:
        fs, root = fsspec.core.url_to_fs(location)
    except ImportError:
        raise ConfigError(f"{_what(scheme)} needs the {package} library: pip install 'ecodata[{extra}]'") from None
    except Exception as exc:
        raise ConfigError(f"cannot use {text}: {_scrub(first_line(exc), secrets)}") from None
    root = str(root).rstrip("/")
    if scheme != "file" and not root:
        raise ConfigError(f"cannot use {text}: give a bucket, e.g. {scheme}://my-bucket/ecodata")
    return Target(url=text.rstrip("/"), scheme=scheme, fs=fs, root=root, secrets=secrets)


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret value replaced by ``***``."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _what(scheme: str) -> str:
    return "a lake in a local directory" if scheme == "file" else f"a lake at {scheme}://"


def _check_endpoint(endpoint: str | None) -> None:
    if not endpoint:
        return
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"AWS_ENDPOINT_URL must be an http(s) URL such as https://minio.example.org:9000, "
                          f"not {parts.scheme or 'a bare name'}")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise ConfigError(f"AWS_ENDPOINT_URL uses plain http to {parts.hostname}: credentials would cross the "
                          "network unencrypted; use https (plain http is allowed for 127.0.0.1 / localhost only)")


def _loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False



def storage_options(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """polars ``scan_parquet`` storage options for an S3 lake behind ``AWS_ENDPOINT_URL`` (empty otherwise).

    polars reads the ``AWS_*`` credentials itself; it needs to be told about a custom endpoint and
    that plain http is fine for a loopback one.

    Example: ``pl.scan_parquet("s3://bucket/lake/history/prices/*.parquet", storage_options=storage_options())``.
    """
    env = os.environ if env is None else env
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if not endpoint:
        return {}
    _check_endpoint(endpoint)
    options: dict[str, Any] = {"aws_endpoint_url": endpoint}
    if endpoint.startswith("http://"):
        options["aws_allow_http"] = "true"
    return options
