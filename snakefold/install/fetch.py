"""Fetching one file over HTTP(S): resumable, verified, atomic, behind a proxy, with progress.

The bytes go to ``<destination>.part``. A partial file left by an interrupted run (or a dropped connection
within this one) is continued with an HTTP range request, ``Range: bytes=<received>-``, guarded by
``If-Range`` with the validator (strong ETag, else Last-Modified) the server gave when the transfer began,
recorded in ``<destination>.part.json``: a file that changed upstream is restarted, never spliced. A
server that ignores the range answers 200 with the whole file, and the transfer restarts from zero.

When the last byte is in, the file is verified: its size against the expected size (the manifest's, else
the total the server announced) and its SHA-256 against the expected digest where one is known. A
mismatch deletes the file and raises an error saying what was expected and what arrived; a verified file
is renamed onto ``destination``, so ``destination`` only ever holds a complete, verified file.

Proxies come from the usual environment variables (``http_proxy``, ``https_proxy``, ``no_proxy`` and their
upper-case forms), read by :class:`urllib.request.ProxyHandler`. Progress (bytes, percent, rate, time left)
is logged at a fixed interval on the ``snakefold.download`` logger, which the command line sends to stderr.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import re
import shutil
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from snakefold.common.atomic import atomic_write_json, fsync_directory
from snakefold.common.errors import SnakefoldError
from snakefold.common.hashing import sha256_digest

LOG = logging.getLogger("snakefold.download")

CHUNK_BYTES = 1 << 20
USER_AGENT = "snakefold-download/0.1 (+python urllib)"


@dataclass(frozen=True)
class Fetched:
    """A verified file: its path, size, SHA-256, and the bytes this call received over the network."""

    path: Path
    size: int
    sha256: str
    transferred: int


class _Interrupted(Exception):
    """A transfer that stopped early for a reason worth retrying (dropped connection, timeout, 5xx)."""


def human_bytes(count: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(count) < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


def _human_duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def make_opener() -> urllib.request.OpenerDirector:
    """A URL opener that honours http_proxy / https_proxy / no_proxy from the environment."""
    return urllib.request.build_opener(urllib.request.ProxyHandler(urllib.request.getproxies()))


def proxy_for(url: str) -> str | None:
    """The proxy the environment assigns to ``url`` (None: a direct connection)."""
    parts = urlsplit(url)
    if parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    return urllib.request.getproxies().get(parts.scheme)


class Progress:
    """Logs 'what: received of total (percent) at rate, time left' at most every ``interval`` seconds."""

    def __init__(self, what: str, total: int | None, start: int, interval: float):
        self.what, self.total, self.interval = what, total, interval
        self.received = start
        self._started = time.monotonic()
        self._start_bytes = start
        self._last_report = self._started

    def advance(self, count: int) -> None:
        self.received += count
        now = time.monotonic()
        if now - self._last_report >= self.interval:
            self._last_report = now
            self.report()

    def report(self) -> None:
        elapsed = max(time.monotonic() - self._started, 1e-6)
        rate = (self.received - self._start_bytes) / elapsed
        if self.total:
            left = (self.total - self.received) / rate if rate > 0 else None
            eta = f", about {_human_duration(left)} left" if left and self.received < self.total else ""
            LOG.info("%s: %s of %s (%.0f%%) at %s/s%s", self.what, human_bytes(self.received),
                     human_bytes(self.total), 100.0 * self.received / self.total, human_bytes(rate), eta)
        else:
            LOG.info("%s: %s at %s/s", self.what, human_bytes(self.received), human_bytes(rate))


def _content_range(header: str | None) -> tuple[int | None, int | None]:
    """(first byte, total) of a Content-Range header such as 'bytes 100-199/200' or 'bytes */200'."""
    match = re.fullmatch(r"\s*bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)\s*", header or "")
    if match is None:
        return None, None
    first = int(match.group(1)) if match.group(1) is not None else None
    total = int(match.group(2)) if match.group(2) != "*" else None
    return first, total


def _validator(headers) -> str | None:
    etag = headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return headers.get("Last-Modified")






class _Transfer:
    """The state of one file's transfer: the partial file, its hash so far, and what the server promised."""

    def __init__(self, url: str, destination: Path, what: str, size: int | None, opener, timeout: float,
                 progress_interval: float):
        self.url, self.destination, self.what = url, destination, what
        self.expected_size = size
        self.opener, self.timeout, self.progress_interval = opener, timeout, progress_interval
        self.part = destination.with_name(destination.name + ".part")
        self.state_path = destination.with_name(destination.name + ".part.json")
        self.server_size: int | None = None
        self.transferred = 0
        self._digest = hashlib.sha256()
        self._hashed = 0

    # -- the partial file -----------------------------------------------------------------------------
    def received(self) -> int:
        return self.part.stat().st_size if self.part.exists() else 0

    def discard(self) -> None:
        self.part.unlink(missing_ok=True)
        self.state_path.unlink(missing_ok=True)
        self._digest, self._hashed = hashlib.sha256(), 0

    def _recorded_validator(self) -> tuple[bool, str | None]:
        """(whether the partial file may be continued, the validator to send in If-Range)."""
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False, None
        if state.get("url") != self.url:
            return False, None
        self.server_size = state.get("size")
        return True, state.get("validator")

    def _sync_digest(self) -> None:
        """Make the running hash cover exactly the bytes of the partial file (re-reading it if needed)."""
        have = self.received()
        if have != self._hashed:
            self._digest = sha256_digest(self.part) if have else hashlib.sha256()
            self._hashed = have

    # -- one request ----------------------------------------------------------------------------------
    def attempt(self) -> None:
        have = self.received()
        validator = None
        if have:
            resumable, validator = self._recorded_validator()
            if not resumable:
                LOG.info("%s: the partial file %s is not from %s; starting again", self.what, self.part, self.url)
                self.discard()
                have = 0
        if have and self.expected_size is not None and have > self.expected_size:
            LOG.info("%s: the partial file is larger than the expected %d bytes; starting again",
                     self.what, self.expected_size)
            self.discard()
            have = 0
        if have and have == (self.expected_size or self.server_size):
            self._sync_digest()
            return
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        if have:
            headers["Range"] = f"bytes={have}-"
            if validator:
                headers["If-Range"] = validator
        try:
            response = self.opener.open(urllib.request.Request(self.url, headers=headers), timeout=self.timeout)
        except urllib.error.HTTPError as error:
            self._http_error(error, have)
            return
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            reason = getattr(error, "reason", error)
            raise _Interrupted(f"cannot connect: {reason}") from error
        with response:
            self._receive(response, have)

    def _http_error(self, error: urllib.error.HTTPError, have: int) -> None:
        if error.code == 416 and have:
            _, total = _content_range(error.headers.get("Content-Range"))
            if total is not None and total == have:
                self.server_size = total
                self._sync_digest()
                return
            LOG.info("%s: the server cannot continue from byte %d; starting again", self.what, have)
            self.discard()
            raise _Interrupted("range not satisfiable") from error
        if error.code >= 500 or error.code in (408, 429):
            raise _Interrupted(f"HTTP {error.code} {error.reason}") from error
        raise SnakefoldError(
            f"cannot download {self.what} from {self.url}: the server answered HTTP {error.code} "
            f"{error.reason}. Check the URL (or the mirror set in the config key 'download.urls' / "
            f"'download.mirror'), and the proxy settings (http_proxy, https_proxy, no_proxy).") from error

    def _receive(self, response, have: int) -> None:
        status = response.getcode() or 200
        length = response.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        if have and status == 206:
            first, total = _content_range(response.headers.get("Content-Range"))
            if first != have:
                LOG.info("%s: the server answered a different range (%s); starting again", self.what,
                         response.headers.get("Content-Range"))
                self.discard()
                raise _Interrupted("unexpected range in the answer")
            LOG.info("%s: continuing from byte %d (%s already here)", self.what, have, human_bytes(have))
        else:
            if have:
                LOG.info("%s: the server did not continue the partial file (HTTP %d); starting again from "
                         "zero", self.what, status)
            self.discard()
            have = 0
            total = length
        if total is not None:
            self._check_announced_size(total)
            self.server_size = total
        if have == 0:
            atomic_write_json(self.state_path, {"url": self.url, "validator": _validator(response.headers),
                                                "size": self.server_size})
        self._check_disk_space(have)
        self._sync_digest()
        progress = Progress(self.what, self.expected_size or self.server_size, have, self.progress_interval)
        received_now = 0
        try:
            with open(self.part, "ab") as handle:
                while True:
                    block = response.read(CHUNK_BYTES)
                    if not block:
                        break
                    handle.write(block)
                    self._digest.update(block)
                    self._hashed += len(block)
                    self.transferred += len(block)
                    received_now += len(block)
                    progress.advance(len(block))
                handle.flush()
                os.fsync(handle.fileno())
        except (OSError, http.client.HTTPException) as error:
            raise _Interrupted(f"connection lost after {human_bytes(self.received())}: {error}") from error
        progress.report()
        if length is not None and received_now < length:
            raise _Interrupted(f"the connection closed after {received_now} of {length} bytes")

    def _check_announced_size(self, total: int) -> None:
        if self.expected_size is not None and total != self.expected_size:
            self.discard()
            raise SnakefoldError(
                f"{self.what}: the server at {self.url} offers {total} bytes but {self.expected_size} are "
                f"expected; it serves a different file than the one listed. Point the URL at the listed file "
                f"or update the listed size.")

    def _check_disk_space(self, have: int) -> None:
        total = self.expected_size or self.server_size
        if total is None:
            return
        free = shutil.disk_usage(self.part.parent).free
        if total - have > free:
            raise SnakefoldError(
                f"{self.what}: {human_bytes(total - have)} still to download but only {human_bytes(free)} "
                f"are free in {self.part.parent}; free some space or choose another directory")

    # -- the end ----------------------------------------------------------------------------------------
    def finish(self, sha256: str | None) -> Fetched:
        size = self.received()
        expected = self.expected_size if self.expected_size is not None else self.server_size
        if expected is not None and size != expected:
            self.discard()
            raise SnakefoldError(
                f"{self.what}: the download from {self.url} has {size} bytes but {expected} were expected; "
                f"the file was deleted. Run the download again; if this repeats, the mirror serves a "
                f"different file.")
        self._sync_digest()
        digest = self._digest.hexdigest()
        if sha256 is not None and digest != sha256.lower():
            self.discard()
            raise SnakefoldError(
                f"{self.what}: the download from {self.url} has SHA-256 {digest} but {sha256.lower()} was "
                f"expected; the file was deleted. Run the download again; if this repeats, the mirror serves "
                f"a different or damaged file.")
        os.replace(self.part, self.destination)
        fsync_directory(self.destination.parent)
        self.state_path.unlink(missing_ok=True)
        LOG.info("%s: %s verified (%s%s)", self.what, self.destination, human_bytes(size),
                 ", SHA-256 matches" if sha256 else "")
        return Fetched(self.destination, size, digest, self.transferred)


def verify_file(path: Path, size: int | None, sha256: str | None) -> tuple[str | None, str]:
    """(the reason ``path`` does not match, or None; its SHA-256)."""
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        return f"it has {actual_size} bytes, not {size}", ""
    digest = sha256_digest(path).hexdigest()
    if sha256 is not None and digest != sha256.lower():
        return f"its SHA-256 is {digest}, not {sha256.lower()}", digest
    return None, digest


def fetch(url: str, destination: str | os.PathLike, *, size: int | None = None, sha256: str | None = None,
          what: str | None = None, opener: urllib.request.OpenerDirector | None = None, retries: int = 5,
          retry_wait: float = 10.0, timeout: float = 60.0, progress_interval: float = 10.0) -> Fetched:
    """Download ``url`` to ``destination``, continuing a partial file, and verify it (see the module doc).

    ``size`` and ``sha256`` are what the file must have, where known. A dropped connection is retried
    ``retries`` times, ``retry_wait`` seconds apart, each time continuing where it stopped; when the
    retries run out the partial file stays, and the next call continues it.
    """
    destination = Path(destination)
    what = what or destination.name
    destination.parent.mkdir(parents=True, exist_ok=True)
    if destination.exists():
        problem, digest = verify_file(destination, size, sha256)
        if problem is None:
            LOG.info("%s: %s is already here and verified; nothing to download", what, destination)
            return Fetched(destination, destination.stat().st_size, digest, 0)
        LOG.info("%s: the existing %s does not match (%s); downloading it again", what, destination, problem)
        destination.unlink()
    proxy = proxy_for(url)
    LOG.info("%s: downloading %s to %s%s", what, url, destination, f" via proxy {proxy}" if proxy else "")
    transfer = _Transfer(url, destination, what, size, opener or make_opener(), timeout, progress_interval)
    failures = 0
    while True:
        try:
            transfer.attempt()
            break
        except _Interrupted as error:
            failures += 1
            if failures > retries:
                kept = transfer.received()
                raise SnakefoldError(
                    f"{what}: downloading {url} failed {failures} time(s), last: {error}. "
                    + (f"The {human_bytes(kept)} received so far are kept in {transfer.part}; run the same "
                       f"command again to continue." if kept else "Check the network and the proxy settings "
                                                                 "(http_proxy, https_proxy, no_proxy).")
                ) from None
            LOG.warning("%s: %s; trying again in %g s (%d of %d)", what, error, retry_wait, failures, retries)
            time.sleep(retry_wait)
    return transfer.finish(sha256)
