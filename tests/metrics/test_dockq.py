"""snakefold.metrics.dockq: real DockQ runs on real complexes from ../shared/data.

The complex is human deoxyhaemoglobin's alpha-beta pair (4HHB chains A and B, 141 and 146 residues), read and
written back as PDB with snakefold's own reader and writer, as predicted complexes are written. Moving the alpha
chain (DockQ's ligand, the smaller chain) rigidly by a vector must give that vector's length as LRMSD; renaming
the chains must not change the score, since DockQ maps chains by sequence. 3U8V (an mmCIF homodimer) checks the
mmCIF reader and the search over mappings of identical chains.

The tests that run DockQ skip when its virtual environment is absent: scripts/setup makes it (CI runs setup).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from snakefold.common.errors import SnakefoldError
from snakefold.common.protein import Protein, from_structure_file, to_pdb
from snakefold.metrics.dockq import DOCKQ_VARIABLE, ComplexDockQ, dockq_command, score_complex

#: DockQ of an interface from its parts, as DockQ v2 defines it (d1 = 1.5 A for iRMSD, d2 = 8.5 A for LRMSD).
IRMSD_SCALE, LRMSD_SCALE = 1.5, 8.5
#: Coordinates written to PDB carry three decimals; an RMSD read back is exact to well within this.
RMSD_TOLERANCE = 0.01


@pytest.fixture(scope="module")
def dockq() -> str:
    try:
        return dockq_command()
    except SnakefoldError as error:
        pytest.skip(f"DockQ is not installed here ({error})")


def _chains(protein: Protein, chain_ids: tuple[str, ...]) -> Protein:
    """The residues of ``chain_ids`` only (in the file's order)."""
    keep = np.isin(protein.chain_index, [protein.chain_ids.index(chain) for chain in chain_ids])
    _, chain_index = np.unique(protein.chain_index[keep], return_inverse=True)
    arrays = {field.name: getattr(protein, field.name)[keep] for field in dataclasses.fields(protein)
              if field.name not in ("chain_ids", "chain_index")}
    return Protein(**arrays, chain_index=chain_index, chain_ids=chain_ids)


def _moved(protein: Protein, chain: str, offset: np.ndarray) -> Protein:
    positions = protein.atom_positions.copy()
    positions[protein.chain_index == protein.chain_ids.index(chain)] += offset
    return dataclasses.replace(protein, atom_positions=positions)


def _write(path: Path, protein: Protein) -> Path:
    path.write_text(to_pdb(protein))
    return path


@pytest.fixture(scope="module")
def haemoglobin(shared_data) -> Protein:
    """4HHB's alpha (A) and beta (B) chains."""
    path = shared_data / "structures" / "4HHB.pdb"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return _chains(from_structure_file(path), ("A", "B"))


@pytest.fixture(scope="module")
def reference(haemoglobin, tmp_path_factory) -> Path:
    return _write(tmp_path_factory.mktemp("dockq") / "4HHB_AB.pdb", haemoglobin)


def _dockq_formula(fnat: float, irmsd: float, lrmsd: float) -> float:
    return (fnat + 1 / (1 + (irmsd / IRMSD_SCALE) ** 2) + 1 / (1 + (lrmsd / LRMSD_SCALE) ** 2)) / 3


def _assert_perfect(result: ComplexDockQ, chain_mapping: dict[str, str]) -> None:
    assert result.dockq == pytest.approx(1.0, abs=1e-6)
    assert dict(result.chain_mapping) == chain_mapping
    assert len(result.interfaces) == 1
    interface = result.interfaces[0]
    assert interface.fnat == 1.0
    assert interface.irmsd == pytest.approx(0.0, abs=1e-3)
    assert interface.lrmsd == pytest.approx(0.0, abs=1e-3)


def test_a_complex_against_itself_scores_one(dockq, reference):
    result = score_complex(reference, reference)
    _assert_perfect(result, {"A": "A", "B": "B"})
    interface = result.interfaces[0]
    assert interface.reference_chains == ("A", "B") and interface.model_chains == ("A", "B")
    assert result.as_json()["interfaces"][0]["dockq"] == interface.dockq


@pytest.mark.parametrize("chain", ["A", "B"], ids=["ligand moved", "receptor moved"])
def test_moving_one_chain_rigidly_gives_its_offset_as_lrmsd(dockq, haemoglobin, reference, tmp_path, chain):
    scores = []
    for offset in (np.array([1.2, -1.6, 0.0]), np.array([0.0, 4.0, -3.0]), np.array([6.0, 6.0, 7.0])):
        model = _write(tmp_path / f"moved_{np.linalg.norm(offset):.1f}.pdb", _moved(haemoglobin, chain, offset))
        result = score_complex(model, reference)
        [interface] = result.interfaces
        assert interface.lrmsd == pytest.approx(np.linalg.norm(offset), abs=RMSD_TOLERANCE)
        assert interface.irmsd > 0.1 and interface.fnat < 1.0
        assert interface.dockq == pytest.approx(_dockq_formula(interface.fnat, interface.irmsd, interface.lrmsd))
        assert result.dockq == pytest.approx(interface.dockq)
        scores.append(result.dockq)
    # Offsets of 2, 5 and 11 A: the score falls with each, and a shift of 11 A leaves an incorrect model.
    assert 1.0 > scores[0] > scores[1] > scores[2]
    assert scores[2] < 0.23


def test_chains_are_mapped_by_sequence_not_by_name(dockq, haemoglobin, reference, tmp_path):
    swapped = _write(tmp_path / "swapped.pdb", dataclasses.replace(haemoglobin, chain_ids=("B", "A")))
    result = score_complex(swapped, reference)
    _assert_perfect(result, {"A": "B", "B": "A"})
    assert result.interfaces[0].reference_chains == ("A", "B")
    assert result.interfaces[0].model_chains == ("B", "A")
    # The same mapping given explicitly gives the same score.
    _assert_perfect(score_complex(swapped, reference, {"A": "B", "B": "A"}), {"A": "B", "B": "A"})


def test_a_given_mapping_is_taken_as_given(dockq, haemoglobin, reference, tmp_path):
    # DockQ does not check a given mapping: it aligns the beta model chain to the alpha reference chain (and the
    # alpha to the beta; haemoglobin's chains are homologous) and scores that pairing.
    swapped = _write(tmp_path / "swapped.pdb", dataclasses.replace(haemoglobin, chain_ids=("B", "A")))
    result = score_complex(swapped, reference, {"A": "A", "B": "B"})
    assert dict(result.chain_mapping) == {"A": "A", "B": "B"}
    assert result.dockq < 0.8 and result.interfaces[0].fnat < 0.5


def test_a_reference_without_interface_fails_with_dockq_s_message(dockq, haemoglobin, tmp_path):
    apart = _write(tmp_path / "apart.pdb", _moved(haemoglobin, "A", np.array([100.0, 0.0, 0.0])))
    with pytest.raises(SnakefoldError, match=r"failed with exit status 1(.|\n)*Could not find interfaces"):
        score_complex(apart, apart)


def test_an_mmcif_homodimer_against_itself_scores_one(dockq, shared_data):
    path = shared_data / "structures" / "3U8V.cif"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    _assert_perfect(score_complex(path, path, threads=2), {"A": "A", "B": "B"})


def test_a_single_chain_is_refused_with_dockq_s_reason(dockq, haemoglobin, tmp_path):
    single = _write(tmp_path / "alpha.pdb", _chains(haemoglobin, ("A",)))
    with pytest.raises(SnakefoldError, match="wrote no result(.|\n)*Need at least two chains"):
        score_complex(single, single)


def test_a_missing_dockq_says_how_to_install_it(tmp_path, monkeypatch, reference):
    monkeypatch.setenv(DOCKQ_VARIABLE, str(tmp_path / "nowhere" / "DockQ"))
    with pytest.raises(SnakefoldError, match=f"{DOCKQ_VARIABLE}(.|\n)*scripts/setup"):
        score_complex(reference, reference)


def test_a_missing_structure_is_named(tmp_path, reference):
    with pytest.raises(SnakefoldError, match="model structure .*absent.pdb does not exist"):
        score_complex(tmp_path / "absent.pdb", reference)


@pytest.mark.parametrize("mapping", [{"A": "B"}, {"AA": "A", "B": "B"}, {"A": "A", "B": "A"}])
def test_a_mapping_dockq_cannot_take_is_refused(reference, mapping):
    with pytest.raises(SnakefoldError, match="mapping"):
        score_complex(reference, reference, mapping)
