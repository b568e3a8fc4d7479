"""SHA256SUMS: the report lists every file it wrote, `sha256sum -c` accepts it, `snakefold verify` checks it."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from snakefold.cli import main
from snakefold.common.checksums import SUMS_NAME, read_checksums, verify_directory, write_checksums
from snakefold.common.errors import SnakefoldError
from snakefold.common.fasta import Target
from snakefold.report.summary import BatchTarget, describe, summarise_batch
from snakefold.report.target_report import write_target_report
from tests.report.conftest import MODELS, VILLIN
from tests.report.synthetic import write_sequence_outputs

#: Every file the report writes for the ubiquitin_run fixture (three pTM models), SHA256SUMS aside.
REPORT_FILES = sorted(
    ["ranking.json", "timings.json", "plddt.png", "pae.png", "coverage.png"]
    + [f"ranked_{rank}.{ext}" for rank in range(len(MODELS)) for ext in ("pdb", "cif")]
    + [f"confidence_{model}.json" for model in MODELS]
    + [f"pae_{model}.json" for model in MODELS]
)


@pytest.fixture
def results(tmp_path, ubiquitin_run) -> Path:
    """A results directory holding a copy of the ubiquitin target (the session's own copy stays untouched)."""
    results = tmp_path / "results"
    shutil.copytree(ubiquitin_run["out_dir"], results / "ubiquitin")
    (results / "_logs" / "report").mkdir(parents=True)
    (results / "_logs" / "report" / "ubiquitin.log").write_text("not a target\n")
    (results / "summary.tsv").write_text("target\n")
    return results


def _verify(capsys, results: Path) -> tuple[int, str, str]:
    status = main(["verify", str(results)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return status, captured.out, captured.err


def _sha256sum_check(directory: Path) -> subprocess.CompletedProcess:
    if shutil.which("sha256sum") is None:
        pytest.skip("sha256sum (GNU coreutils) is not installed")
    return subprocess.run(["sha256sum", "--check", "--strict", SUMS_NAME], cwd=directory, capture_output=True,
                          text=True, timeout=60, check=False)


def test_sha256sums_lists_every_other_file_and_sha256sum_accepts_it(ubiquitin_run):
    out_dir = ubiquitin_run["out_dir"]
    names = sorted(path.name for path in out_dir.iterdir() if path.name != SUMS_NAME)
    assert names == REPORT_FILES
    text = (out_dir / SUMS_NAME).read_text(encoding="ascii")
    lines = text.splitlines()
    assert text.endswith("\n") and [line.split("  ", 1)[1] for line in lines] == names
    for line in lines:
        digest, name = line.split("  ", 1)
        assert digest == hashlib.sha256((out_dir / name).read_bytes()).hexdigest()
    assert read_checksums(out_dir / SUMS_NAME) == dict(line.split("  ", 1)[::-1] for line in lines)
    check = _sha256sum_check(out_dir)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count(": OK") == len(names)


def test_sha256sums_is_written_after_every_other_file(ubiquitin_run):
    out_dir = ubiquitin_run["out_dir"]
    sums_time = (out_dir / SUMS_NAME).stat().st_mtime_ns
    assert all(path.stat().st_mtime_ns <= sums_time for path in out_dir.iterdir())


def test_verify_passes_on_untouched_results(results, capsys):
    status, out, _ = _verify(capsys, results)
    assert status == 0
    assert out == f"ubiquitin: ok ({len(REPORT_FILES)} files)\n"
    verification = verify_directory(results / "ubiquitin")
    assert verification.ok and list(verification.listed) == REPORT_FILES


@pytest.mark.parametrize("name", REPORT_FILES)
def test_a_one_byte_edit_of_any_file_is_named_modified(results, capsys, name):
    path = results / "ubiquitin" / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    status, out, _ = _verify(capsys, results)
    assert status == 1
    assert out == f"ubiquitin: {name} modified\n"
    assert _sha256sum_check(results / "ubiquitin").returncode != 0


def test_a_deleted_file_is_missing_and_an_extra_file_unexpected(results, capsys):
    target = results / "ubiquitin"
    (target / "ranked_1.cif").unlink()
    (target / "notes.txt").write_text("mine\n")
    (target / "extra").mkdir()
    status, out, _ = _verify(capsys, results)
    assert status == 1
    assert out == "ubiquitin: ranked_1.cif missing, extra/ unexpected, notes.txt unexpected\n"
    verification = verify_directory(target)
    assert verification.missing == ("ranked_1.cif",) and verification.unexpected == ("extra/", "notes.txt")
    assert verification.modified == ()


def test_every_target_gets_a_line_and_one_without_sha256sums_did_not_finish(results, capsys):
    shutil.copytree(results / "ubiquitin", results / "ubiquitin_again")
    (results / "ubiquitin_again" / SUMS_NAME).unlink()
    (results / "empty").mkdir()
    status, out, _ = _verify(capsys, results)
    assert status == 1
    assert out.splitlines() == [
        "empty: no SHA256SUMS (its report did not finish)",
        f"ubiquitin: ok ({len(REPORT_FILES)} files)",
        "ubiquitin_again: no SHA256SUMS (its report did not finish)",
    ]


def _garble(text: str) -> dict[str, bytes]:
    lines = text.splitlines(keepends=True)
    return {
        "truncated mid-line": text[: len(text) // 2].encode(),
        "truncated in a digest": (lines[0] + lines[1][:20] + "\n").encode(),
        "empty": b"",
        "binary": b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 8,
        "not UTF-8": lines[0].encode() + b"\xff\xfe  ranked_0.pdb\n",
        "one space": "".join(lines[:2] + [lines[2].replace("  ", " ", 1)]).encode(),
        "a path": (lines[0] + "0" * 64 + "  ../ubiquitin/ranking.json\n").encode(),
        "listed twice": (lines[0] + lines[1] + lines[0]).encode(),
        "blank line": (lines[0] + "\n" + lines[1]).encode(),
    }


GARBLED_LINES = {"truncated mid-line": None, "truncated in a digest": 2, "empty": None, "binary": 1,
                 "not UTF-8": 2, "one space": 3, "a path": 2, "listed twice": 3, "blank line": 2}


@pytest.mark.parametrize("kind", sorted(GARBLED_LINES))
def test_a_garbled_sha256sums_is_a_clear_error_without_traceback(results, capsys, kind):
    sums = results / "ubiquitin" / SUMS_NAME
    sums.write_bytes(_garble(sums.read_text())[kind])
    shutil.copytree(results / "ubiquitin", results / "zz_other")
    write_checksums(results / "zz_other", REPORT_FILES)
    with pytest.raises(SnakefoldError) as raised:
        read_checksums(sums)
    message = str(raised.value)
    assert message.startswith(str(sums)) and "re-run the target's report" in message
    if GARBLED_LINES[kind] is not None:
        assert f"{sums}, line {GARBLED_LINES[kind]}: " in message
    status, out, _ = _verify(capsys, results)
    assert status == 1
    assert out.splitlines() == [f"ubiquitin: {message}", f"zz_other: ok ({len(REPORT_FILES)} files)"]


def test_a_missing_or_empty_results_directory_is_an_error_message(tmp_path, capsys):
    status, _, err = _verify(capsys, tmp_path / "absent")
    assert status == 1 and err.startswith("snakefold verify: ") and "absent: no such directory" in err
    (tmp_path / "results" / "_logs").mkdir(parents=True)
    status, _, err = _verify(capsys, tmp_path / "results")
    assert status == 1 and "no target directories to verify" in err


def test_a_rerun_with_fewer_models_lists_only_its_own_files(tmp_path):
    raw = write_sequence_outputs(tmp_path / "work", VILLIN, models=MODELS)
    target = Target("villin", "villin", "", VILLIN, "batch.fasta", 1)
    out_dir = tmp_path / "villin"
    write_target_report(target, raw["ranking"], raw["features"], out_dir, raw["relaxed"])
    (out_dir / ".ranking.json.tmp-abc123").write_text("{")  # left by a killed job
    fewer = write_sequence_outputs(tmp_path / "work2", VILLIN, models=("model_1_seed0", "model_2_seed0"),
                                   relaxed_ranks=())
    write_target_report(target, fewer["ranking"], fewer["features"], out_dir)
    assert not (out_dir / "pae.png").exists() and not (out_dir / ".ranking.json.tmp-abc123").exists()
    verification = verify_directory(out_dir)
    assert verification.ok, verification.describe()
    assert set(verification.listed) == {path.name for path in out_dir.iterdir()} - {SUMS_NAME}
    assert _sha256sum_check(out_dir).returncode == 0


def test_a_report_that_fails_leaves_no_sha256sums(ubiquitin_run, tmp_path):
    out_dir = tmp_path / "ubiquitin"
    shutil.copytree(ubiquitin_run["out_dir"], out_dir)
    broken = tmp_path / "features.npz"
    np.savez(broken, aatype=np.zeros((3, 21)))
    with pytest.raises(SnakefoldError, match="lack the key 'msa'"):
        write_target_report(ubiquitin_run["target"], ubiquitin_run["ranking"], broken, out_dir,
                            ubiquitin_run["relaxed"])
    assert not (out_dir / SUMS_NAME).exists()


def test_the_summary_says_when_files_changed_but_keeps_the_status(results, ubiquitin_run):
    targets = [BatchTarget("ubiquitin", ubiquitin_run["target"].seq_key, len(ubiquitin_run["target"].sequence))]
    row = summarise_batch(targets, [], results)[0]
    assert row["status"] == "ok" and row["error"] == ""
    with open(results / "ubiquitin" / "ranked_0.pdb", "a") as handle:
        handle.write("REMARK edited\n")
    row = summarise_batch(targets, [], results)[0]
    assert row["status"] == "ok" and row["best_model"]
    assert row["error"] == (f"files changed since the report: ranked_0.pdb modified; "
                            f"run `snakefold verify {results}` for details")
    assert f"  - ubiquitin ok, but {row['error']}" in describe([row], results / "summary.tsv").splitlines()
    (results / "ubiquitin" / SUMS_NAME).write_text("garbage\n")
    row = summarise_batch(targets, [], results)[0]
    assert row["status"] == "ok" and row["error"].startswith("files not verifiable: ")
    assert f"{SUMS_NAME}, line 1" in row["error"]
    (results / "ubiquitin" / SUMS_NAME).unlink()
    row = summarise_batch(targets, [], results)[0]
    assert row["status"] == "ok" and "no SHA256SUMS" in row["error"]
