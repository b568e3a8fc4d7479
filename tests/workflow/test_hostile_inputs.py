"""Inputs a hostile user tried (issue 25), through the real snakemake dry run: each is refused while the DAG is
built, naming its file, record or complex and line, or is read right.

* a chain of unknown residues alone (X), a target of its own or a chain of a ':' complex, for which AlphaFold2
  places no atoms: an intake error, so on_invalid skip plans the rest of the batch;
* a precomputed Stockholm MSA cut short (no closing '//'), of a single chain or of a complex's chain: a planning
  problem, which stops the run as every problem of a precomputed MSA does;
* a copy number far above AlphaFold2's 62 chains in a complex sheet: an intake error, counted, never expanded;
* a complex name with a space in a TSV sheet: named as its YAML twin is.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from tests.complexes.test_parity import unpack_case
from tests.predict.params import MULTIMER_FIXTURE_PRESET, write_small_multimer_params, write_small_params
from tests.workflow.conftest import NO_DATABASES, job_counts, run_snakemake, write_config
from tests.workflow.test_config_and_intake import GB1, VILLIN, assert_clean_failure

MONOMER_PRESET = "model_3"
ONLY_X = ("holds only unknown residues (X, or codes read as X): AlphaFold2 places no atoms for X, so there is no "
          "structure to predict")
CUT_SHORT = "ends without the closing '//' line of a Stockholm alignment: the file was cut short; copy or make it again"


@pytest.fixture(scope="module")
def params(tmp_path_factory) -> Path:
    """Random parameters of one monomer and the multimer preset: what a dry run checks is there."""
    directory = tmp_path_factory.mktemp("params")
    write_small_params(directory, [MONOMER_PRESET])
    return write_small_multimer_params(directory)


def batch_config(workdir: Path, params: Path, **settings) -> Path:
    model = {"presets": [MONOMER_PRESET], "multimer_presets": [MULTIMER_FIXTURE_PRESET], "params_dir": str(params)}
    return write_config(workdir, {**NO_DATABASES, "inputs": ["in.fasta"], "model": model, **settings})


def dry_run(workdir: Path, config: Path):
    return run_snakemake(workdir, "-n", "--configfile", str(config))


def planned(result, rule: str) -> int:
    assert result.returncode == 0, result.stdout + result.stderr
    return job_counts(result.stdout).get(rule, 0)


# -------------------------------------------------------------------------------------------- chains of X alone
@pytest.fixture
def x_batch(tmp_path) -> Path:
    (tmp_path / "in.fasta").write_text(f">villin\n{VILLIN}\n>xchain\n{VILLIN}:{'X' * 20}\n>xs\n{'X' * 20}\n"
                                       f">ambiguous\n{'BZJ' * 7}\n>dimer\n{VILLIN}:{GB1}\n>partly_x\n{GB1}:XXXX{GB1}\n")
    return tmp_path


def test_a_chain_of_x_alone_stops_the_dry_run_naming_its_record_and_line(x_batch, params):
    assert_clean_failure(dry_run(x_batch, batch_config(x_batch, params)),
                         f"in.fasta:3: record 'xchain': chain B {ONLY_X}; give the chain's sequence",
                         f"in.fasta:5: record 'xs': the sequence {ONLY_X}; give the protein's sequence",
                         f"in.fasta:7: record 'ambiguous': the sequence {ONLY_X}", "Nothing was run")


def test_with_on_invalid_skip_the_rest_of_the_batch_is_planned(x_batch, params):
    result = dry_run(x_batch, batch_config(x_batch, params, on_invalid="skip"))
    assert f"record 'xchain': chain B {ONLY_X}" in result.stderr
    assert f"record 'xs': the sequence {ONLY_X}" in result.stderr
    # villin alone; the dimer and the partly unknown complex
    assert (planned(result, "report_target"), planned(result, "report_complex")) == (1, 2)


# ---------------------------------------------------------------------------------- Stockholm files cut short
def write_stockholm(path: Path, query: str, hits: int, seed: int = 3) -> list[str]:
    """An MSA of ``query`` and ``hits`` mutated copies as jackhmmer writes it (``-A``); returns its lines."""
    rng = random.Random(seed)
    rows = {"query": query}
    for index in range(hits):
        rows[f"UniRef90_H{index:04d}/1-{len(query)}"] = "".join(
            letter if rng.random() < 0.7 else rng.choice("ACDEFGHIKLMNPQRSTVWY-") for letter in query)
    width = max(len(name) for name in rows) + 1
    lines = ["# STOCKHOLM 1.0\n", "\n", *(f"#=GS {name} DE hit\n" for name in rows), "\n",
             *(f"{name:<{width}}{row}\n" for name, row in rows.items()), f"{'#=GC RF':<{width}}{'x' * len(query)}\n",
             "//\n"]
    path.write_text("".join(lines))
    return lines


def test_a_precomputed_stockholm_file_cut_short_stops_the_dry_run_naming_it(tmp_path, params):
    (tmp_path / "in.fasta").write_text(f">villin\n{VILLIN}\n")
    (tmp_path / "msas").mkdir()
    msa = tmp_path / "msas" / "villin.sto"
    lines = write_stockholm(msa, VILLIN, hits=62)
    config = batch_config(tmp_path, params, msa={"mode": "precomputed", "precomputed_dir": "msas"})
    assert planned(dry_run(tmp_path, config), "features") == 1  # whole, it is read
    row_lines = [index for index, line in enumerate(lines) if line.startswith("UniRef90_")]
    msa.write_text("".join(lines[:row_lines[49]]))  # cut at a line boundary: the query and 48 of 62 hits left
    assert_clean_failure(dry_run(tmp_path, config), f"target 'villin' (in.fasta, line 1): msas/villin.sto: {CUT_SHORT}")


def test_a_complexs_stockholm_file_cut_short_stops_the_dry_run_naming_the_complex(tmp_path, params):
    fasta, msas = unpack_case("hetero_A24_B32", tmp_path / "case")
    chains = [line for line in fasta.read_text().splitlines() if line and not line.startswith(">")]
    (tmp_path / "in.fasta").write_text(f">tmpl\n{':'.join(chains)}\n")
    shutil.copytree(msas, tmp_path / "af2" / "tmpl" / "msas")
    config = batch_config(tmp_path, params, msa={"mode": "precomputed", "precomputed_dir": "af2"})
    assert planned(dry_run(tmp_path, config), "complex_features") == 1
    uniref90 = tmp_path / "af2" / "tmpl" / "msas" / "A" / "uniref90_hits.sto"
    lines = uniref90.read_text().splitlines(keepends=True)
    rows = [index for index, line in enumerate(lines) if line.startswith("UniRef90_")]
    uniref90.write_text("".join(lines[:rows[len(rows) // 2]]))  # cut at a line boundary half way through the rows
    assert_clean_failure(dry_run(tmp_path, config), "complex 'tmpl' (in.fasta, line 1)",
                         f"af2/tmpl/msas/A/uniref90_hits.sto: {CUT_SHORT}")


# ------------------------------------------------------------------------------------------------ complex sheets
@pytest.fixture
def sheet_batch(tmp_path) -> Path:
    (tmp_path / "in.fasta").write_text(f">A\n{VILLIN}\n>B\n{GB1}\n")
    return tmp_path


def test_a_huge_copy_number_is_counted_not_made(sheet_batch, params):
    (sheet_batch / "complexes.tsv").write_text("cx\tA:999999999999\nok\tA,B\n")
    complexes = {"sheets": ["complexes.tsv"]}
    message = ("complexes.tsv:1: record 'cx': the complex has 999999999999 chains (copies included); AlphaFold2 "
               "names at most 62 (one per PDB chain ID)")
    assert_clean_failure(dry_run(sheet_batch, batch_config(sheet_batch, params, complexes=complexes)), message,
                         "Nothing was run")
    result = dry_run(sheet_batch, batch_config(sheet_batch, params, complexes=complexes, on_invalid="skip"))
    assert message in result.stderr and planned(result, "report_complex") == 1


@pytest.mark.parametrize("sheet, text", [("complexes.tsv", "my complex\tA, B\n"),
                                         ("complexes.yaml", "my complex: [A, B]\n")])
def test_a_complex_name_with_a_space_is_made_a_target_name_in_either_sheet(sheet_batch, params, sheet, text):
    (sheet_batch / sheet).write_text(text)
    result = dry_run(sheet_batch, batch_config(sheet_batch, params, complexes={"sheets": [sheet]}))
    assert f"{sheet}:1: record 'my complex': the complex's name is not a usable file name as it stands; the " \
           "target is named 'my_complex'" in result.stderr
    assert planned(result, "report_complex") == 1 and "results/my_complex/ranking.json" in result.stdout
