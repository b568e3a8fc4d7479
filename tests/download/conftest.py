"""A real HTTP server on 127.0.0.1 for the download tests: Range requests, dropped connections, a proxy.

:class:`FileServer` serves in-memory files with HTTP/1.0 semantics as static file servers do: ``Range:
bytes=N-`` answered with 206 and Content-Range (unless told to ignore ranges), ``If-Range`` compared with
the file's ETag, 416 past the end. A file can be set to drop the connection after sending half of its
body, a given number of times. :class:`ForwardingProxy` is a plain HTTP proxy that relays absolute-URI
requests to the origin and records them. Both log every request for the assertions.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import re
import socket
import sys
import tarfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import numpy as np
import pytest


@dataclass
class Request:
    path: str
    range: str | None
    if_range: str | None


@dataclass
class FileServer:
    """Files by URL path; behaviours: 'ignore_range'; drops: path -> how many more times to drop halfway."""

    files: dict[str, bytes] = field(default_factory=dict)
    ignore_range: set[str] = field(default_factory=set)
    drops: dict[str, int] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def requests_for(self, path: str) -> list[Request]:
        return [request for request in self.requests if request.path == path]


def etag(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:20] + '"'


def _file_handler(state: FileServer):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            path = urlsplit(self.path).path
            state.requests.append(Request(path, self.headers.get("Range"), self.headers.get("If-Range")))
            data = state.files.get(path)
            if data is None:
                self.send_error(404, "Not Found")
                return
            start, status = 0, 200
            wanted = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
            if_range = self.headers.get("If-Range")
            if wanted and path not in state.ignore_range and (if_range is None or if_range == etag(data)):
                start = int(wanted.group(1))
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 206
            body = data[start:]
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag(data))
            if path not in state.ignore_range:
                self.send_header("Accept-Ranges", "bytes")
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.end_headers()
            if state.drops.get(path, 0) > 0:
                state.drops[path] -= 1
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up early (a size check failing on the headers) are part of the tests, not errors."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _serve(handler) -> tuple[ThreadingHTTPServer, threading.Thread]:
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def file_server(monkeypatch):
    """A FileServer on 127.0.0.1; proxies from the environment are switched off for the test."""
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    state = FileServer()
    server, thread = _serve(_file_handler(state))
    state.port = server.server_address[1]
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@dataclass
class ForwardingProxy:
    seen: list[str] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _proxy_handler(state: ForwardingProxy):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            state.seen.append(self.path)
            target = urlsplit(self.path)
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
            headers = {name: value for name, value in self.headers.items()
                       if name.lower() in ("range", "if-range", "user-agent", "accept-encoding")}
            connection.request("GET", target.path, headers=headers)
            response = connection.getresponse()
            body = response.read()
            self.send_response(response.status)
            for name, value in response.getheaders():
                if name.lower() not in ("connection", "transfer-encoding", "server", "date"):
                    self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
            connection.close()

    return Handler


@pytest.fixture
def forwarding_proxy():
    state = ForwardingProxy()
    server, thread = _serve(_proxy_handler(state))
    state.port = server.server_address[1]
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def npz_bytes(seed: int) -> bytes:
    """A small .npz in the layout of the official parameter files (keys 'scope//name')."""
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    np.savez(buffer, **{"alphafold/alphafold_iteration/evoformer/preprocess_1d//weights":
                        rng.standard_normal((22, 8)).astype(np.float32)})
    return buffer.getvalue()


def tar_bytes(members: dict[str, bytes], compression: str = "") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=f"w:{compression}") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def params_members(files: tuple[str, ...]) -> dict[str, bytes]:
    """Archive members for a parameter set's layout: a small npz per params_*.npz, text for the rest."""
    return {name: npz_bytes(index) if name.endswith(".npz") else b"CC BY 4.0 (test copy)\n"
            for index, name in enumerate(files)}
