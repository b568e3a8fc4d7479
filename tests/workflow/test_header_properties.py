"""Property: no FASTA header can break or steer a job's command (Hypothesis).

Headers are drawn from everything a user can type: printable and non-ASCII characters, a leading ``-``,
tabs, quotes, braces, ``$(...)``, backticks, empty descriptions. For each drawn batch:

- intake accepts a record with its ID and description exactly as written (the target's record file gives
  them back unchanged) and names it with a filesystem-safe name that no command-line parser takes for an
  option, or refuses it with its file and line;
- the real Snakefile, in a dry run that prints every job's shell command (`snakemake -n -p`), builds a
  command for every job of every accepted target, and no ID or description appears in any command: they
  reach jobs only through the record files. Every command splits as a shell would (`shlex`).
"""

from __future__ import annotations

import re
import shlex

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snakefold.common.batch_checks import load_batch
from snakefold.common.target_record import (
    batch_document,
    read_target_record,
    read_target_records,
    record_json,
    write_batch_document,
)
from tests.predict.params import write_small_params
from tests.workflow.conftest import NO_DATABASES, run_snakemake, write_config

SEQUENCES = ["MKTAYIAKQRQISFVK", "GSAEELLKRAEELLKRG", "MQIFVKTLTGKTITLE", "MLSDEDFKAVFGMTRS"]
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
#: Pieces a hostile or careless header is made of, mixed with arbitrary text.
NASTY = ["-", "--help", "$(touch pwned)", "`touch pwned`", "'", '"', "{config}", "{input}", "\t", ";", "|", "&",
         "*", "~", "..", "/", "\\", "é", "αβ", "名前", "", " "]

header_text = st.lists(st.one_of(st.sampled_from(NASTY), st.text(st.characters(blacklist_categories=("Cc", "Cs"),
                                                                                blacklist_characters="\r\n>"),
                                                                 max_size=8)),
                       max_size=6).map("".join)


@st.composite
def headers(draw) -> list[str]:
    """One header per demo sequence: an ID (never empty) and maybe a description."""
    drawn = []
    for index in range(len(SEQUENCES)):
        identifier = draw(header_text.filter(str.split)).split()[0]
        description = draw(header_text)
        drawn.append(f"{identifier}{index}" + (f" {description}" if description else ""))
    return drawn


def _fasta(path, drawn: list[str]) -> None:
    path.write_text("".join(f">{header}\n{sequence}\n" for header, sequence in zip(drawn, SEQUENCES)),
                    encoding="utf-8")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=headers())
def test_intake_keeps_every_header_as_data(tmp_path, drawn):
    fasta = tmp_path / "batch.fasta"
    _fasta(fasta, drawn)
    batch = load_batch([str(fasta)], 1, 100)
    for problem in batch.errors:
        assert problem.path == str(fasta) and problem.line is not None
    records = tmp_path / "batch.json"
    write_batch_document(records, batch_document(batch.targets, {}))
    record = tmp_path / "record.json"
    for target in batch.targets:
        header = drawn[SEQUENCES.index(target.sequence)]
        words = header.split(None, 1)
        assert target.record_id == words[0]
        assert target.description == (words[1].strip() if len(words) > 1 else "")
        assert SAFE_NAME.fullmatch(target.name), target.name
        assert read_target_records(records, [target.name]) == [target]
        record.write_text(record_json(target))
        assert record.read_text().isascii() and read_target_record(record) == target


@pytest.fixture(scope="module")
def params(tmp_path_factory):
    return write_small_params(tmp_path_factory.mktemp("params"), presets=("model_3",))


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=headers())
def test_no_header_reaches_a_command(tmp_path_factory, params, drawn):
    workdir = tmp_path_factory.mktemp("dag")
    _fasta(workdir / "batch.fasta", drawn)
    config = {**NO_DATABASES, "inputs": ["batch.fasta"], "on_invalid": "skip",
              "model": {"presets": ["model_3"], "params_dir": str(params), "num_recycle": 0},
              "relax": {"mode": "best"}}
    dry = run_snakemake(workdir, "-n", "-p", "--cores", "2", "--configfile", str(write_config(workdir, config)))
    batch = load_batch([str(workdir / "batch.fasta")], 1, 100)
    if not batch.targets:
        assert dry.returncode == 0 and "no valid target" in dry.stderr
        return
    assert dry.returncode == 0, dry.stderr[-3000:]
    commands = [line.strip().removeprefix("Shell command:").strip() for line in dry.stdout.splitlines()
                if line.strip().removeprefix("Shell command:").strip().startswith("snakefold ")]
    reports = [command for command in commands if command.startswith("snakefold report ")]
    assert len(reports) == len(batch.targets)
    for command in commands:
        words = shlex.split(command)
        for target in batch.targets:
            for value in (target.record_id, target.description):
                if len(value) >= 3 and not value.replace(".", "").isdigit():  # else a path or number by chance
                    assert value not in words, (value, command)
