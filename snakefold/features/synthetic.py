"""Synthetic raw features (AlphaFold2's raw feature dict) for the model's tests, parity fixtures and benchmarks.

A random sequence; an MSA of mutated copies with gaps and deletions, the query first; and optionally
templates: a random-walk CA trace with N, C, O and CB atoms at bond distances (no CB for glycine), 20 %
of residue types changed, template t >= 1 leaving its last min(3 t, L / 2) residues unaligned.

Each template is placed with the first residue's N exactly at (4, 0, 0). AlphaFold2 computes the
pre-omega angle of that residue from a degenerate atom set (its missing predecessor is all zeros) and
feeds the result to the model unmasked; this placement makes that computation exact in any
implementation instead of rounding noise. Unaligned residues inside a template would create the same
degeneracy at the next residue, so there are none.
"""

from __future__ import annotations

import numpy as np

from snakefold.common import residue_constants as rc

AMINO_ACIDS = "".join(rc.restypes)


def synthetic_raw_features(num_res: int, num_msa: int, num_templates: int, seed: int) -> dict[str, np.ndarray]:
    rs = np.random.RandomState(seed)
    sequence = "".join(rs.choice(list(AMINO_ACIDS), size=num_res))
    rows = [sequence]
    for _ in range(num_msa - 1):
        row = list(sequence)
        for i in range(num_res):
            u = rs.rand()
            if u < 0.08:
                row[i] = "-"
            elif u < 0.4:
                row[i] = AMINO_ACIDS[rs.randint(20)]
        rows.append("".join(row))
    msa = np.array([[rc.HHBLITS_AA_TO_ID[c] for c in row] for row in rows], np.int32)
    deletions = (rs.rand(num_msa, num_res) < 0.1) * rs.randint(1, 12, size=(num_msa, num_res))
    deletions[0] = 0
    raw = {
        "aatype": rc.sequence_to_onehot(sequence, rc.restype_order_with_x, map_unknown_to_x=True),
        "between_segment_residues": np.zeros(num_res, np.int32),
        "residue_index": np.arange(num_res, dtype=np.int32),
        "seq_length": np.full(num_res, num_res, np.int32),
        "msa": msa,
        "deletion_matrix_int": deletions.astype(np.int32),
        "num_alignments": np.full(num_res, num_msa, np.int32),
    }
    positions = np.zeros((num_templates, num_res, rc.atom_type_num, 3), np.float64)
    masks = np.zeros((num_templates, num_res, rc.atom_type_num), np.float32)
    template_aatype = np.zeros((num_templates, num_res, 22), np.float32)
    for t in range(num_templates):
        steps = rs.randn(num_res, 3)
        ca = np.cumsum(3.8 * steps / np.linalg.norm(steps, axis=-1, keepdims=True), axis=0)

        def around(centre: np.ndarray, distance: float) -> np.ndarray:
            direction = rs.randn(num_res, 3)
            return centre + distance * direction / np.linalg.norm(direction, axis=-1, keepdims=True)

        atoms = {"N": around(ca, 1.46), "CA": ca, "C": around(ca, 1.52), "CB": around(ca, 1.53)}
        atoms["O"] = around(atoms["C"], 1.23)
        shift = np.array([4.0, 0.0, 0.0]) - atoms["N"][0]
        letters = [c if rs.rand() > 0.2 else AMINO_ACIDS[rs.randint(20)] for c in sequence]
        for name, xyz in atoms.items():
            positions[t, :, rc.atom_order[name]] = xyz + shift
            masks[t, :, rc.atom_order[name]] = 1.0
        for i, letter in enumerate(letters):
            if letter == "G":
                positions[t, i, rc.atom_order["CB"]] = 0.0
                masks[t, i, rc.atom_order["CB"]] = 0.0
        unaligned = min(3 * t, num_res // 2)
        if unaligned:
            positions[t, num_res - unaligned:] = 0.0
            masks[t, num_res - unaligned:] = 0.0
            letters[num_res - unaligned:] = ["-"] * unaligned
        template_aatype[t] = rc.sequence_to_onehot("".join(letters), rc.HHBLITS_AA_TO_ID)
    raw.update({
        "template_aatype": template_aatype,
        "template_all_atom_masks": masks,
        "template_all_atom_positions": positions.astype(np.float32),
        "template_sum_probs": np.ones((num_templates, 1), np.float32),
    })
    return raw
