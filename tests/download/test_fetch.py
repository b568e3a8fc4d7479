"""Fetching one file from a real local HTTP server: complete, resumed, restarted, verified, via a proxy."""

from __future__ import annotations

import hashlib
import logging
import os

import pytest

from snakefold.common.errors import SnakefoldError
from snakefold.install.fetch import fetch, proxy_for

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB
FAST = dict(retry_wait=0.0, timeout=10.0, progress_interval=0.0)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_complete_download_is_verified_and_logs_progress(file_server, tmp_path, caplog):
    file_server.files["/data.bin"] = PAYLOAD
    destination = tmp_path / "data.bin"
    with caplog.at_level(logging.INFO, logger="snakefold.download"):
        result = fetch(file_server.url("/data.bin"), destination, size=len(PAYLOAD), sha256=sha(PAYLOAD), **FAST)
    assert destination.read_bytes() == PAYLOAD
    assert (result.size, result.sha256, result.transferred) == (len(PAYLOAD), sha(PAYLOAD), len(PAYLOAD))
    assert not (tmp_path / "data.bin.part").exists() and not (tmp_path / "data.bin.part.json").exists()
    assert any("(100%)" in message and "/s" in message for message in caplog.messages)


def test_dropped_connection_is_resumed_with_a_range_request(file_server, tmp_path):
    file_server.files["/data.bin"] = PAYLOAD
    file_server.drops["/data.bin"] = 1
    result = fetch(file_server.url("/data.bin"), tmp_path / "data.bin", sha256=sha(PAYLOAD), retries=2, **FAST)
    assert (tmp_path / "data.bin").read_bytes() == PAYLOAD
    first, second = file_server.requests_for("/data.bin")
    assert first.range is None
    assert second.range == f"bytes={len(PAYLOAD) // 2}-" and second.if_range is not None
    assert result.transferred == len(PAYLOAD)


def test_partial_file_from_an_earlier_run_is_continued(file_server, tmp_path):
    file_server.files["/data.bin"] = PAYLOAD
    file_server.drops["/data.bin"] = 1
    destination = tmp_path / "data.bin"
    with pytest.raises(SnakefoldError, match="run the same command again to continue"):
        fetch(file_server.url("/data.bin"), destination, retries=0, **FAST)
    part = tmp_path / "data.bin.part"
    assert part.stat().st_size == len(PAYLOAD) // 2 and not destination.exists()

    result = fetch(file_server.url("/data.bin"), destination, size=len(PAYLOAD), sha256=sha(PAYLOAD), **FAST)
    assert destination.read_bytes() == PAYLOAD
    assert file_server.requests_for("/data.bin")[-1].range == f"bytes={len(PAYLOAD) // 2}-"
    assert result.transferred == len(PAYLOAD) - len(PAYLOAD) // 2


def test_server_ignoring_range_restarts_cleanly(file_server, tmp_path):
    file_server.files["/data.bin"] = PAYLOAD
    file_server.drops["/data.bin"] = 1
    with pytest.raises(SnakefoldError):
        fetch(file_server.url("/data.bin"), tmp_path / "data.bin", retries=0, **FAST)
    file_server.ignore_range.add("/data.bin")
    result = fetch(file_server.url("/data.bin"), tmp_path / "data.bin", sha256=sha(PAYLOAD), **FAST)
    assert (tmp_path / "data.bin").read_bytes() == PAYLOAD
    assert result.transferred == len(PAYLOAD)


def test_file_changed_upstream_is_restarted_not_spliced(file_server, tmp_path):
    file_server.files["/data.bin"] = PAYLOAD
    file_server.drops["/data.bin"] = 1
    with pytest.raises(SnakefoldError):
        fetch(file_server.url("/data.bin"), tmp_path / "data.bin", retries=0, **FAST)
    newer = PAYLOAD[::-1]
    file_server.files["/data.bin"] = newer
    fetch(file_server.url("/data.bin"), tmp_path / "data.bin", **FAST)
    assert (tmp_path / "data.bin").read_bytes() == newer
    assert file_server.requests_for("/data.bin")[-1].if_range is not None


def test_checksum_mismatch_deletes_the_file_and_says_what_differs(file_server, tmp_path):
    file_server.files["/data.bin"] = PAYLOAD
    wrong = sha(b"another file")
    with pytest.raises(SnakefoldError) as error:
        fetch(file_server.url("/data.bin"), tmp_path / "data.bin", sha256=wrong, **FAST)
    message = str(error.value)
    assert sha(PAYLOAD) in message and wrong in message and "was deleted" in message
    assert os.listdir(tmp_path) == []


def test_size_mismatch_fails_before_downloading(file_server, tmp_path):
    file_server.files["/data.bin"] = PAYLOAD
    with pytest.raises(SnakefoldError, match=f"offers {len(PAYLOAD)} bytes but 1000 are expected"):
        fetch(file_server.url("/data.bin"), tmp_path / "data.bin", size=1000, **FAST)
    assert os.listdir(tmp_path) == []


def test_second_fetch_downloads_nothing(file_server, tmp_path):
    file_server.files["/data.bin"] = PAYLOAD
    fetch(file_server.url("/data.bin"), tmp_path / "data.bin", sha256=sha(PAYLOAD), **FAST)
    again = fetch(file_server.url("/data.bin"), tmp_path / "data.bin", sha256=sha(PAYLOAD), **FAST)
    assert again.transferred == 0 and len(file_server.requests) == 1


def test_complete_partial_file_is_finished_without_downloading(file_server, tmp_path):
    file_server.files["/data.bin"] = PAYLOAD
    file_server.drops["/data.bin"] = 1
    with pytest.raises(SnakefoldError):
        fetch(file_server.url("/data.bin"), tmp_path / "data.bin", retries=0, **FAST)
    part = tmp_path / "data.bin.part"
    part.write_bytes(PAYLOAD)  # all bytes arrived, but the run stopped before the rename
    result = fetch(file_server.url("/data.bin"), tmp_path / "data.bin", sha256=sha(PAYLOAD), **FAST)
    assert result.transferred == 0 and (tmp_path / "data.bin").read_bytes() == PAYLOAD
    assert len(file_server.requests) == 1  # the size the server announced is known: no request needed


def test_partial_file_already_complete_is_answered_416_and_finished(file_server, tmp_path):
    file_server.files["/data.bin"] = PAYLOAD
    file_server.drops["/data.bin"] = 1
    with pytest.raises(SnakefoldError):
        fetch(file_server.url("/data.bin"), tmp_path / "data.bin", retries=0, **FAST)
    (tmp_path / "data.bin.part").write_bytes(PAYLOAD)
    state = tmp_path / "data.bin.part.json"
    state.write_text(state.read_text().replace(f'"size": {len(PAYLOAD)}', '"size": null'))
    result = fetch(file_server.url("/data.bin"), tmp_path / "data.bin", sha256=sha(PAYLOAD), **FAST)
    assert result.transferred == 0 and (tmp_path / "data.bin").read_bytes() == PAYLOAD
    assert file_server.requests_for("/data.bin")[-1].range == f"bytes={len(PAYLOAD)}-"


def test_missing_file_is_a_clear_error(file_server, tmp_path):
    with pytest.raises(SnakefoldError, match=r"HTTP 404.*Check the URL"):
        fetch(file_server.url("/absent.tar"), tmp_path / "absent.tar", **FAST)


def test_proxy_from_the_environment_is_used_and_no_proxy_bypasses_it(file_server, forwarding_proxy, tmp_path,
                                                                      monkeypatch):
    file_server.files["/data.bin"] = PAYLOAD
    url = file_server.url("/data.bin")
    monkeypatch.setenv("http_proxy", forwarding_proxy.url)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert proxy_for(url) == forwarding_proxy.url
    fetch(url, tmp_path / "via_proxy.bin", sha256=sha(PAYLOAD), **FAST)
    assert forwarding_proxy.seen == [url]

    monkeypatch.setenv("no_proxy", "127.0.0.1")
    assert proxy_for(url) is None
    fetch(url, tmp_path / "direct.bin", sha256=sha(PAYLOAD), **FAST)
    assert forwarding_proxy.seen == [url] and len(file_server.requests) == 2
