"""``snakefold complex-features`` against the official AlphaFold2 v2.3.2 multimer data path, key for key.

The expected features were made by the official pipeline (``fixtures/make_fixtures.py``) from the same
input directories: synthetic cases committed under ``fixtures/``, real OpenFold chains laid out from
../shared at test time (their expected features as digests). Integer arrays must be equal, float arrays
equal to 1e-6; key sets, shapes and dtypes must be the official ones.

v2.3.2 orders tied rows with NumPy's unstable quicksort, whose tie order depends on the CPU's sorting
kernels (:mod:`snakefold.msa.pairing`). Where this machine orders ties unlike the machine that made the
fixtures (``fixtures/sort_probe.json``), a case whose features change when ties are ordered stably instead
is skipped: AlphaFold2 itself would give other features here.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from snakefold.cli import main
from snakefold.msa import pairing
from snakefold.msa.formats import read_msa
from snakefold.msa.multimer import all_seq_features
from tests.complexes import cases


def run_complex_features(fasta: Path, msas: Path, out_dir: Path, *extra: str) -> tuple[dict, dict]:
    out, summary = out_dir / "merged.npz", out_dir / "summary.json"
    status = main(["complex-features", "--fasta", str(fasta), "--msas", str(msas), "--out", str(out),
                   "--summary", str(summary), *extra])
    assert status == 0
    with np.load(out, allow_pickle=False) as archive:
        features = {key: archive[key] for key in archive.files}
    return features, json.loads(summary.read_text())


def unpack_case(case: str, destination: Path) -> tuple[Path, Path]:
    with tarfile.open(cases.FIXTURES / f"{case}.tar.xz") as archive:
        archive.extractall(destination, filter="data")
    return destination / "complex.fasta", destination / "msas"


def assert_features_equal(ours: dict, expected: dict) -> None:
    assert sorted(ours) == sorted(expected)
    for key, want in expected.items():
        got = ours[key]
        assert (got.dtype, got.shape) == (want.dtype, want.shape), key
        if want.dtype.kind == "f":
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-6, err_msg=key)
        else:
            np.testing.assert_array_equal(got, want, err_msg=key)


SYNTHETIC = sorted(cases.SYNTHETIC_CASES) + [cases.SPECIES_LIMIT_CASE, cases.TEMPLATE_CASE]
SAME_TIE_ORDER = json.loads((cases.FIXTURES / "sort_probe.json").read_text()) == cases.sort_probe()


def skip_if_ties_decide(ours: dict, rerun, monkeypatch) -> None:
    """Skip when this CPU orders ties unlike the fixtures' and the features depend on the order of ties."""
    if SAME_TIE_ORDER:
        return
    monkeypatch.setattr(pairing, "TIE_SORT_KIND", "stable")
    stable = rerun()
    monkeypatch.undo()
    if any(not np.array_equal(ours[key], stable[key]) for key in ours):
        pytest.skip("this CPU's NumPy orders tied rows unlike the machine that made the fixtures, and this "
                    "case's features depend on that order (as AlphaFold2 v2.3.2's do)")


@pytest.mark.parametrize("case", SYNTHETIC)
def test_synthetic_case_matches_alphafold(case, tmp_path, monkeypatch):
    fasta, msas = unpack_case(case, tmp_path)
    mmcif = tmp_path / "mmcif"  # the template case's structures
    options = ("--mmcif-dir", str(mmcif), "--max-template-date", cases.MAX_TEMPLATE_DATE) if mmcif.is_dir() else ()
    ours, summary = run_complex_features(fasta, msas, tmp_path, *options)
    skip_if_ties_decide(ours, lambda: run_complex_features(fasta, msas, tmp_path, *options)[0], monkeypatch)
    with np.load(cases.FIXTURES / f"{case}_feat.npz", allow_pickle=False) as archive:
        expected = {key: archive[key] for key in archive.files}
    assert_features_equal(ours, expected)
    assert summary["msa_rows"] == int(expected["num_alignments"])


def test_species_over_the_row_limit_is_not_paired(tmp_path):
    fasta, msas = unpack_case(cases.SPECIES_LIMIT_CASE, tmp_path)
    for chain_id, segments in cases.SPECIES_LIMIT_RELABEL.items():  # the case is what it claims to be
        species = all_seq_features(read_msa(msas / chain_id / "uniprot_hits.sto"))["msa_species_identifiers_all_seq"]
        for name, _, count in segments:
            assert np.count_nonzero(species == name.encode()) == count
    _, summary = run_complex_features(fasta, msas, tmp_path)
    paired = {entry["species"]: entry["rows"] for entry in summary["species"]}
    assert "BIGA" not in paired  # 601 rows in chain A
    assert paired["BIGB"] == 3  # 600 rows in chain B, 3 in chain A: the smaller group sets the count


@pytest.mark.parametrize("case", sorted(cases.REAL_CASES))
def test_real_openfold_complex_matches_alphafold(case, shared_data, tmp_path, monkeypatch):
    expected = json.loads((cases.FIXTURES / "real_digests.json").read_text())[case]
    fasta, msas, mmcif = cases.lay_out_real_case(shared_data, case, tmp_path / "input")
    options = ("--mmcif-dir", str(mmcif), "--max-template-date", cases.MAX_TEMPLATE_DATE)
    ours, summary = run_complex_features(fasta, msas, tmp_path, *options)
    skip_if_ties_decide(ours, lambda: run_complex_features(fasta, msas, tmp_path, *options)[0], monkeypatch)
    assert sorted(ours) == sorted(expected)
    for key, want in expected.items():
        got = ours[key]
        assert (got.dtype.str, list(got.shape)) == (want["dtype"], want["shape"]), key
        if cases.array_digest(got) != want["sha256"]:
            assert got.dtype.kind == "f", f"{key} differs from AlphaFold2's"
            assert cases.array_digest(got, cases.FLOAT_DIGEST_DECIMALS) == want["sha256_rounded"], \
                f"{key} differs from AlphaFold2's beyond {10.0 ** -cases.FLOAT_DIGEST_DECIMALS}"
    assert summary["msa_rows"] == int(ours["num_alignments"])
