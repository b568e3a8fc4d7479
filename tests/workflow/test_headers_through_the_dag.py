"""FASTA headers as users write them, through every stage of the real Snakefile to the report.

The most common header is an ID alone (``>myprotein``); others start with ``-`` or carry quotes, ``$(...)``,
braces and tabs. Each record's ID and description reach the report through its record file, never as a
command-line word, so each of these targets must finish with its ID and description exactly as written.
The run uses no database (single-sequence MSAs), the small random parameters of model_3, and relaxes the
best model, so every stage runs.
"""

from __future__ import annotations

import json

import pytest

from tests.predict.params import write_small_params
from tests.workflow.conftest import NO_DATABASES, run_snakemake, write_config

#: header -> (target name, record ID, description): the header alone, as the FASTA file holds it.
HEADERS = {
    "myprotein": ("myprotein", "myprotein", ""),
    "-myprot": ("myprot", "-myprot", ""),
    "prot2 --help": ("prot2", "prot2", "--help"),
    "prot3 $(touch pwned) `touch pwned` 'quoted' \"double\" {config} \t tab; rm -rf /":
        ("prot3", "prot3", "$(touch pwned) `touch pwned` 'quoted' \"double\" {config} \t tab; rm -rf /"),
}
SEQUENCES = ["MKTAYIAKQRQISFVK", "GSAEELLKRAEELLKRG", "MQIFVKTLTGKTITLE", "MLSDEDFKAVFGMTRS"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("headers")
    params = write_small_params(workdir / "params", presets=("model_3",))
    (workdir / "in.fasta").write_text("".join(f">{header}\n{sequence}\n"
                                              for header, sequence in zip(HEADERS, SEQUENCES)))
    config = {**NO_DATABASES, "inputs": ["in.fasta"],
              "model": {"presets": ["model_3"], "params_dir": str(params), "num_recycle": 0, "length_buckets": [32]},
              "relax": {"mode": "best", "platform": "CPU", "max_iterations": 50, "max_outer_iterations": 1}}
    process = run_snakemake(workdir, "--cores", "2", "--configfile", str(write_config(workdir, config)))
    return workdir, process


@pytest.mark.slow
def test_every_header_reaches_the_report_as_written(run):
    workdir, process = run
    assert process.returncode == 0, process.stderr[-4000:]
    for name, record_id, description in HEADERS.values():
        ranking = json.loads((workdir / "results" / name / "ranking.json").read_text(encoding="utf-8"))
        assert (ranking["target"], ranking["record_id"], ranking["description"]) == (name, record_id, description)
        cif = (workdir / "results" / name / "ranked_0.cif").read_text(encoding="utf-8")
        assert f"FASTA record {record_id}" in cif
    assert not list(workdir.rglob("pwned")), "a header ran a command"
