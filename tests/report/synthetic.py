"""Synthetic predict-stage outputs that follow the contract in docs (common.md), for the report's tests.

Everything is drawn from a seeded generator, so two calls with the same arguments write identical files
(as two runs of the model with the same parameters would) and a different seed gives a different model.
Coordinates are random but valid atom37: every atom the residue type has, none it lacks, a CA trace with
3.8 Angstrom steps. pLDDT and PAE are computed from the written logits as the model does, so the report's
outputs can be checked against the raw arrays.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from snakefold.common import residue_constants as rc
from snakefold.common.fasta import sequence_key
from snakefold.common.intermediates import seal
from snakefold.common.protein import Protein, to_pdb
from snakefold.report.predictions import rank_model_runs

PLDDT_BINS = 50
PAE_BINS = 64
PAE_EDGES = np.linspace(0.0, 31.0, PAE_BINS - 1)
DISTOGRAM_EDGES = np.linspace(2.3125, 21.6875, 63)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def plddt_from_logits(logits: np.ndarray) -> np.ndarray:
    centres = (np.arange(PLDDT_BINS) + 0.5) / PLDDT_BINS
    return 100.0 * (_softmax(logits) * centres).sum(axis=-1)


def pae_from_probs(probs: np.ndarray) -> tuple[np.ndarray, float]:
    """Expected aligned error over bins centred half a step above each edge, the open bin one step further."""
    step = PAE_EDGES[1] - PAE_EDGES[0]
    centres = np.append(PAE_EDGES + step / 2, PAE_EDGES[-1] + 1.5 * step)
    return (probs * centres).sum(axis=-1), float(centres[-1])


def random_atom37(sequence: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """[L, 37, 3] positions and [L, 37] mask: a helical CA trace with every side-chain atom nearby."""
    length = len(sequence)
    aatype = rc.sequence_to_aatype(sequence)
    mask = rc.STANDARD_ATOM37_MASK[aatype].copy()
    turn = np.deg2rad(100.0) * np.arange(length)
    ca = np.stack([2.3 * np.cos(turn), 2.3 * np.sin(turn), 1.5 * np.arange(length)], axis=-1)
    ca += rng.normal(scale=0.3, size=ca.shape)
    positions = np.zeros((length, rc.atom_type_num, 3))
    for index in range(length):
        for slot in np.flatnonzero(mask[index]):
            direction = rng.normal(size=3)
            distance = 0.0 if rc.atom_types[slot] == "CA" else 1.5 * (1 + slot % 4)
            positions[index, slot] = ca[index] + distance * direction / np.linalg.norm(direction)
    return positions.astype(np.float32), mask.astype(np.float32)


def write_model(model_dir: Path, model: str, sequence: str, msa_depth: int, seed: int, ptm: bool,
                untrained: bool, params_set: str, coordinate_shift: float = 0.0) -> dict:
    rng = np.random.default_rng(seed)
    length = len(sequence)
    positions, mask = random_atom37(sequence, rng)
    positions = positions + np.float32(coordinate_shift)
    plddt_logits = rng.normal(scale=2.0, size=(length, PLDDT_BINS)).astype(np.float32)
    plddt_logits[:, : PLDDT_BINS // 2] += rng.uniform(-2, 2, size=(length, 1)).astype(np.float32)
    plddt = plddt_from_logits(plddt_logits.astype(np.float64)).astype(np.float32)
    outputs = {
        "plddt": plddt,
        "structure_module/final_atom_positions": positions,
        "structure_module/final_atom_mask": mask,
        "predicted_lddt/logits": plddt_logits,
        "distogram/logits": rng.normal(size=(length, length, 64)).astype(np.float32),
        "distogram/bin_edges": DISTOGRAM_EDGES.astype(np.float32),
        "experimentally_resolved/logits": rng.normal(size=(length, 37)).astype(np.float32),
        "masked_msa/logits": rng.normal(size=(msa_depth, length, 23)).astype(np.float32),
    }
    ptm_value, max_pae = None, None
    if ptm:
        probs = _softmax(rng.normal(scale=1.5, size=(length, length, PAE_BINS)))
        pae, max_pae = pae_from_probs(probs)
        ptm_value = float(rng.uniform(0.2, 0.9))
        outputs.update({
            "predicted_aligned_error": pae.astype(np.float32),
            "aligned_confidence_probs": probs.astype(np.float32),
            "ptm": np.float32(ptm_value),
            "max_predicted_aligned_error": np.float32(max_pae),
        })
    model_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(model_dir / "outputs.npz", **outputs)
    protein = Protein(atom_positions=positions, aatype=rc.sequence_to_aatype(sequence), atom_mask=mask,
                      residue_index=np.arange(1, length + 1), chain_index=np.zeros(length),
                      b_factors=np.repeat(plddt[:, None], rc.atom_type_num, axis=1) * mask)
    (model_dir / "unrelaxed.pdb").write_text(to_pdb(protein))
    preset, seed_text = model.rsplit("_seed", 1)
    mean_plddt = float(np.mean(plddt))
    scores = {
        "model": model, "preset": preset, "seed": int(seed_text), "mean_plddt": mean_plddt,
        "ptm": ptm_value, "ranking_confidence": 100.0 * ptm_value if ptm else mean_plddt,
        "plddt": [float(value) for value in plddt], "max_predicted_aligned_error": max_pae,
        "num_recycles": 3,
        "params": {"set": params_set, "path": f"models/{params_set}/params_{preset}.npz", "untrained": untrained},
        "timings": {"compile_s": 1.5 + seed % 3, "predict_s": 0.25 + (seed % 5) / 10},
    }
    (model_dir / "scores.json").write_text(json.dumps(scores))
    seal(model_dir / "outputs.npz", model_dir / "unrelaxed.pdb", model_dir / "scores.json")  # as predict does
    return scores


def homologous_msa(sequence: str, depth: int, rng: np.random.Generator) -> np.ndarray:
    """[depth, L] HHblits ids: the query, then sequences with mutations and terminal/internal gaps."""
    query = np.array([rc.HHBLITS_AA_TO_ID[letter] for letter in sequence], dtype=np.int32)
    msa = np.tile(query, (depth, 1))
    length = len(sequence)
    for row in range(1, depth):
        identity = rng.uniform(0.15, 0.95)
        mutate = rng.random(length) > identity
        msa[row, mutate] = rng.integers(0, 20, size=int(mutate.sum()))
        start, stop = sorted(rng.integers(0, length, size=2))
        msa[row, :start] = rc.HHBLITS_GAP_ID
        msa[row, stop + 1:] = rc.HHBLITS_GAP_ID
    return msa


def write_features(path: Path, sequence: str, depth: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed + 1000)
    msa = homologous_msa(sequence, depth, rng)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, msa=msa, deletion_matrix_int=np.zeros_like(msa),
                        aatype=rc.sequence_to_onehot(sequence, rc.restype_order_with_x, map_unknown_to_x=True),
                        num_alignments=np.full(len(sequence), depth, dtype=np.int32))
    return msa


def write_sequence_outputs(work_root: Path, sequence: str,
                           models: tuple[str, ...] = ("model_1_ptm_seed0", "model_2_ptm_seed0"),
                           seed: int = 0, untrained: bool = True, params_set: str = "demo",
                           msa_depth: int = 40, relaxed_ranks: tuple[int, ...] = (0,),
                           coordinate_shift: float = 0.0) -> dict:
    """Write ``{work_root}/<seq>/`` as the predict and relax stages would, plus a features file.

    Returns a dict with ``work_dir``, ``features``, ``relaxed`` (paths), ``scores`` (model -> scores), ``order``
    and ``ranking`` (the runs ranked as the report ranks them: by pTM when every run has one, else pLDDT).
    """
    work_dir = work_root / sequence_key(sequence)
    scores = {}
    for index, model in enumerate(models):
        scores[model] = write_model(work_dir / "predictions" / model, model, sequence, msa_depth,
                                    seed * 100 + index, "_ptm" in model, untrained, params_set, coordinate_shift)
    metric = "ptm" if all(scores[name]["ptm"] is not None for name in models) else "plddt"
    ranking = rank_model_runs([work_dir / "predictions" / model / "scores.json" for model in models], metric)
    order = list(ranking.order)
    relaxed = []
    for rank in relaxed_ranks:
        relaxed.append(write_relaxed(work_dir / "relaxed" / f"rank_{rank}.pdb",
                                     work_dir / "predictions" / order[rank] / "unrelaxed.pdb"))
    features = write_features(work_root / "features" / f"{sequence_key(sequence)}.npz", sequence, msa_depth, seed)
    return {"work_dir": work_dir, "features": work_root / "features" / f"{sequence_key(sequence)}.npz",
            "relaxed": relaxed, "scores": scores, "order": order, "ranking": ranking, "msa": features}


def write_relaxed(path: Path, unrelaxed: Path) -> Path:
    """A 'relaxed' model as OpenMM writes one: the heavy atoms moved slightly, a hydrogen on each N, B = 0."""
    lines, serial = [], 1
    for line in unrelaxed.read_text().splitlines():
        if not line.startswith("ATOM"):
            continue
        x, y, z = (float(line[30:38]) + 0.05, float(line[38:46]) - 0.05, float(line[46:54]))
        record = f"{line[:6]}{serial:5d}{line[11:30]}{x:8.3f}{y:8.3f}{z:8.3f}{1.0:6.2f}{0.0:6.2f}{line[66:]}"
        lines.append(record)
        serial += 1
        if line[12:16] == " N  ":
            lines.append(f"ATOM  {serial:5d}  H   {line[17:30]}{x + 1.0:8.3f}{y:8.3f}{z:8.3f}{1.0:6.2f}{0.0:6.2f}"
                         f"           H  ")
            serial += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines + ["END"]) + "\n")
    path.with_suffix(".json").write_text(json.dumps({"wall_time_s": 2.5, "platform": "CPU", "attempts": 1}))
    seal(path, path.with_suffix(".json"))  # as the relax job does
    return path
