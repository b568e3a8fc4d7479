"""A complex's merged input features from its chains' monomer features, as AlphaFold-Multimer v2.3.2 makes them.

AlphaFold2 v2.3.2's ``pipeline_multimer`` and ``feature_processing.pair_and_merge``, step by step:

1. **Chains and entities.** The chains of the input (FASTA order, IDs ``A``, ``B``, ...) are grouped by
   sequence into entities, numbered 1, 2, ... in order of first appearance; copies of an entity are its
   syms 1, 2, ...; the chains are then ordered entity by entity, and ``asym_id`` counts them 1, 2, ... in
   that order (so in ``A B A`` the second ``A`` is asym 2 and the ``B`` asym 3, and the merged residues run
   A, A, B).
2. **Per chain.** Monomer features (:mod:`snakefold.features.raw`) become multimer ones: residue types as
   indices, the template residue types re-ordered from the HHblits alphabet to AlphaFold2's, the deletion
   matrix as float32 and its column mean ``deletion_mean`` (over the whole monomer MSA), an all-zero
   structure with the atoms each residue type has. Chains of a heteromer also carry their UniProt MSA
   (``*_all_seq``: :func:`all_seq_features`).
3. **Pairing** (heteromers only; a homomer is never paired): :mod:`snakefold.msa.pairing`, then every
   monomer-MSA row equal to a paired row of its chain is dropped.
4. **Cropping** each chain: the paired rows to ``min(P, 1024)``; the monomer rows to at most
   2,048 minus the cropped paired rows that are not all gap (2,048 without pairing); the templates to 4.
5. **Merging.** Templates padded to 4 per chain; copies of an entity merged first, their MSAs side by side
   (dense); then the entities' MSAs block-diagonally (gap and no deletion off the blocks) under the paired
   rows, which run across all chains. ``bert_mask`` is 1 on the rows' own blocks (and on all paired rows);
   ``cluster_bias_mask`` is 1 on row 0 when paired, else on each entity block's first row.
6. **Final.** MSA residue types re-ordered from the HHblits alphabet to AlphaFold2's; ``seq_mask``,
   ``msa_mask``; the MSA features padded with zero rows to at least 512 rows.

Merged features (R residues of all chains, M MSA rows, AlphaFold2's names and dtypes):

=============================  ==================  =====================================================
aatype, residue_index          [R] int32
asym_id, sym_id, entity_id     [R] float64
entity_mask                    [R] int32
seq_mask                       [R] float32
deletion_mean                  [R] float32
all_atom_mask                  [R, 37] int32       atoms of each residue type
all_atom_positions             [R, 37, 3] float64  zeros
msa                            [M, R] int32        AlphaFold2 residue order, 21 = gap
deletion_matrix                [M, R] float32
bert_mask, msa_mask            [M, R] float32
cluster_bias_mask              [M] float64
template_aatype                [4, R] int64
template_all_atom_mask         [4, R, 37] float32
template_all_atom_positions    [4, R, 37, 3] float32
num_alignments, seq_length     [] int32            MSA rows before padding; R
num_templates                  [] int32            templates of the first chain (at most 4)
assembly_num_chains            [] int64
=============================  ==================  =====================================================

Also returned: a JSON-ready summary of the pairing. ``paired`` (false for a homomer), ``msa_rows`` (merged
MSA rows before padding), ``chains`` (in merged order: ``chain_id``, ``entity_id``, ``sym_id``, ``asym_id``,
``length``, ``unpaired_rows`` kept after deduplication and cropping and, when paired, ``paired_rows``: the
chain's real rows among the kept paired rows, the query row not counted); when paired also ``paired_rows``
(kept paired rows without the query row) and ``species`` (in pairing order: ``species``, ``rows``, and the
``chains`` that have a row of it in those pairs).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from snakefold.common import residue_constants
from snakefold.common.errors import SnakefoldError
from snakefold.msa.features import make_msa_features
from snakefold.msa.formats import Msa
from snakefold.msa.pairing import MSA_GAP_INDEX, apply_pairing, deduplicate_unpaired_rows, pair_rows

#: Templates kept per chain (and the slots each chain is padded to).
MAX_TEMPLATES = 4
#: MSA rows per chain after cropping, paired rows included; half of it is the most paired rows kept.
MSA_CROP_SIZE = 2048
#: The merged MSA is padded with zero rows to at least this many rows.
MIN_MSA_ROWS = 512

TEMPLATE_KEYS = ("template_aatype", "template_all_atom_mask", "template_all_atom_positions")
_RESIDUE_KEYS = ("aatype", "residue_index", "all_atom_mask", "all_atom_positions", "asym_id", "sym_id",
                 "entity_id", "entity_mask", "deletion_mean")
_ROW_KEYS = ("msa", "deletion_matrix")
_ATOM_MASK_BY_RESTYPE = residue_constants.STANDARD_ATOM37_MASK.astype(np.int32)


@dataclasses.dataclass(frozen=True)
class ComplexChain:
    """One chain of a complex: its ID, its monomer raw features and, for heteromers, its UniProt MSA features."""

    chain_id: str
    sequence: str
    monomer: Mapping[str, np.ndarray]
    all_seq: Mapping[str, np.ndarray] | None


def all_seq_features(uniprot_msa: Msa, name: str = "UniProt MSA") -> dict[str, np.ndarray]:
    """The ``*_all_seq`` features of a chain's UniProt MSA (cut to its hit limit), duplicate rows removed."""
    features = make_msa_features([uniprot_msa], [name])
    return {f"{key}_all_seq": features[key] for key in ("msa", "deletion_matrix_int", "msa_species_identifiers")}


def _chain_features(chain: ComplexChain) -> dict[str, Any]:
    """Step 2: a chain's monomer features as multimer per-chain features."""
    monomer = chain.monomer
    aatype = np.argmax(monomer["aatype"], axis=-1).astype(np.int32)
    deletion_matrix = np.asarray(monomer["deletion_matrix_int"], dtype=np.float32)
    template_aatype = np.argmax(monomer["template_aatype"], axis=-1).astype(np.int32)
    features: dict[str, Any] = {
        "aatype": aatype,
        "residue_index": np.asarray(monomer["residue_index"], dtype=np.int32),
        "seq_length": int(monomer["seq_length"][0]),
        "msa": np.asarray(monomer["msa"], dtype=np.int32),
        "deletion_matrix": deletion_matrix,
        "num_alignments": np.asarray(monomer["num_alignments"][0], dtype=np.int32),
        "deletion_mean": np.mean(deletion_matrix, axis=0),
        "all_atom_mask": _ATOM_MASK_BY_RESTYPE[aatype],
        "all_atom_positions": np.zeros(aatype.shape + (residue_constants.atom_type_num, 3)),
        "template_aatype": np.take(residue_constants.MAP_HHBLITS_AATYPE_TO_OUR_AATYPE, template_aatype, axis=0),
        "template_all_atom_mask": np.asarray(monomer["template_all_atom_masks"]),
        "template_all_atom_positions": np.asarray(monomer["template_all_atom_positions"]),
    }
    if chain.all_seq is not None:
        features["msa_all_seq"] = np.asarray(chain.all_seq["msa_all_seq"], dtype=np.int32)
        features["deletion_matrix_all_seq"] = np.asarray(chain.all_seq["deletion_matrix_int_all_seq"],
                                                         dtype=np.float32)
        features["msa_species_identifiers_all_seq"] = np.asarray(chain.all_seq["msa_species_identifiers_all_seq"])
    return features


def _assemble(chains: Sequence[ComplexChain]) -> list[dict[str, Any]]:
    """Step 1: per-chain features in entity order, with entity, sym and asym IDs."""
    entity_of_sequence: dict[str, int] = {}
    by_entity: dict[int, list[ComplexChain]] = {}
    for chain in chains:
        entity = entity_of_sequence.setdefault(chain.sequence, len(entity_of_sequence) + 1)
        by_entity.setdefault(entity, []).append(chain)
    assembled = []
    for entity, members in by_entity.items():
        for sym, chain in enumerate(members, start=1):
            features = _chain_features(chain)
            length = features["seq_length"]
            asym = len(assembled) + 1
            features.update(chain_id=chain.chain_id, asym=asym, entity=entity, sym=sym,
                            asym_id=asym * np.ones(length), sym_id=sym * np.ones(length),
                            entity_id=entity * np.ones(length))
            features["entity_mask"] = (features["entity_id"] != 0).astype(np.int32)
            assembled.append(features)
    return assembled


def _crop(chain: dict[str, Any], paired: bool) -> None:
    """Step 4, and the padding of the templates to 4 slots (step 5), in place."""
    msa_rows = int(chain["num_alignments"])
    if paired:
        paired_rows = min(int(chain["num_alignments_all_seq"]), MSA_CROP_SIZE // 2)
        kept_paired = chain["msa_all_seq"][:paired_rows]
        informative = min(int(np.sum(np.any(kept_paired != MSA_GAP_INDEX, axis=1))), paired_rows)
        msa_rows = min(msa_rows, max(MSA_CROP_SIZE - informative, 0))
        for key in _ROW_KEYS:
            chain[f"{key}_all_seq"] = chain[f"{key}_all_seq"][:paired_rows]
        chain["num_alignments_all_seq"] = paired_rows
    else:
        msa_rows = min(msa_rows, MSA_CROP_SIZE)
    for key in _ROW_KEYS:
        chain[key] = chain[key][:msa_rows]
    chain["num_alignments"] = msa_rows
    num_templates = min(chain["template_aatype"].shape[0], MAX_TEMPLATES)
    for key in TEMPLATE_KEYS:
        kept = chain[key][:num_templates]
        padding = [(0, MAX_TEMPLATES - num_templates)] + [(0, 0)] * (kept.ndim - 1)
        chain[key] = np.pad(kept, padding)
    chain["num_templates"] = num_templates


def _block_diagonal(blocks: Sequence[np.ndarray], fill) -> np.ndarray:
    """Blocks on the diagonal of a [sum rows, sum columns] array, ``fill`` elsewhere."""
    rows = sum(block.shape[0] for block in blocks)
    columns = sum(block.shape[1] for block in blocks)
    merged = np.full((rows, columns), fill, dtype=np.result_type(*blocks))
    row = column = 0
    for block in blocks:
        merged[row:row + block.shape[0], column:column + block.shape[1]] = block
        row += block.shape[0]
        column += block.shape[1]
    return merged


def _merge_entity_copies(assembled: Sequence[dict[str, Any]], paired: bool) -> list[dict[str, Any]]:
    """Step 5, first half: each entity's copies side by side (their MSAs have the same rows)."""
    entities: list[dict[str, Any]] = []
    for entity in sorted({chain["entity"] for chain in assembled}):
        copies = [chain for chain in assembled if chain["entity"] == entity]
        merged = {key: np.concatenate([chain[key] for chain in copies], axis=0) for key in _RESIDUE_KEYS}
        row_keys = _ROW_KEYS + tuple(f"{key}_all_seq" for key in _ROW_KEYS if paired)
        merged.update({key: np.concatenate([chain[key] for chain in copies], axis=1) for key in row_keys})
        merged.update({key: np.concatenate([chain[key] for chain in copies], axis=1) for key in TEMPLATE_KEYS})
        merged["num_templates"] = copies[0]["num_templates"]
        entities.append(merged)
    return entities


def _merge(assembled: Sequence[dict[str, Any]], paired: bool) -> dict[str, np.ndarray]:
    """Step 5: the merged MSA, masks and per-residue features."""
    entities = _merge_entity_copies(assembled, paired)
    merged = {key: np.concatenate([entity[key] for entity in entities], axis=0) for key in _RESIDUE_KEYS}
    merged.update({key: np.concatenate([entity[key] for entity in entities], axis=1) for key in TEMPLATE_KEYS})
    msa = _block_diagonal([entity["msa"] for entity in entities], MSA_GAP_INDEX)
    deletion_matrix = _block_diagonal([entity["deletion_matrix"] for entity in entities], 0)
    bert_mask = _block_diagonal([np.ones(entity["msa"].shape, dtype=np.float32) for entity in entities], 0)
    if paired:
        msa_all_seq = np.concatenate([entity["msa_all_seq"] for entity in entities], axis=1)
        msa = np.concatenate([msa_all_seq, msa], axis=0)
        deletion_matrix = np.concatenate(
            [np.concatenate([entity["deletion_matrix_all_seq"] for entity in entities], axis=1), deletion_matrix])
        bert_mask = np.concatenate([np.ones(msa_all_seq.shape, dtype=np.float32), bert_mask], axis=0)
        cluster_bias_mask = np.zeros(msa.shape[0])
        cluster_bias_mask[0] = 1
    else:
        firsts = [np.zeros(entity["msa"].shape[0]) for entity in entities]
        for first in firsts:
            first[0] = 1
        cluster_bias_mask = np.concatenate(firsts)
    seq_mask = (merged["entity_id"] > 0).astype(np.float32)
    merged.update(
        msa=np.take(residue_constants.MAP_HHBLITS_AATYPE_TO_OUR_AATYPE, msa, axis=0).astype(np.int32),
        deletion_matrix=deletion_matrix,
        bert_mask=bert_mask,
        cluster_bias_mask=cluster_bias_mask,
        seq_mask=seq_mask,
        msa_mask=np.ones(msa.shape, dtype=np.float32) * seq_mask[None],
        num_alignments=np.asarray(msa.shape[0], dtype=np.int32),
        seq_length=np.asarray(merged["aatype"].shape[0], dtype=np.int32),
        num_templates=np.asarray(entities[0]["num_templates"], dtype=np.int32),
        assembly_num_chains=np.asarray(len(assembled)),
    )
    return merged


def _pad_rows(features: dict[str, np.ndarray], min_rows: int) -> dict[str, np.ndarray]:
    """Step 6's padding: zero rows under the MSA features up to ``min_rows``."""
    missing = min_rows - features["msa"].shape[0]
    if missing > 0:
        for key in ("msa", "deletion_matrix", "bert_mask", "msa_mask"):
            features[key] = np.pad(features[key], ((0, missing), (0, 0)))
        features["cluster_bias_mask"] = np.pad(features["cluster_bias_mask"], ((0, missing),))
    return features


def _pairing_summary(assembled: Sequence[dict[str, Any]], species: Sequence[bytes], paired: bool,
                     merged: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """What was paired (the module docstring lists the keys)."""
    chains = []
    for chain in assembled:
        entry = {"chain_id": chain["chain_id"], "entity_id": chain["entity"], "sym_id": chain["sym"],
                 "asym_id": chain["asym"], "length": int(chain["seq_length"]),
                 "unpaired_rows": int(chain["num_alignments"])}
        if paired:
            entry["paired_rows"] = int(np.count_nonzero(chain["paired_source_rows"][1:] >= 0))
        chains.append(entry)
    summary: dict[str, Any] = {"paired": paired, "msa_rows": int(merged["num_alignments"]), "chains": chains}
    if paired:
        by_species: dict[str, dict[str, Any]] = {}
        for row in range(1, len(assembled[0]["paired_source_rows"])):
            name = species[row].decode("ascii")
            entry = by_species.setdefault(name, {"species": name, "rows": 0, "chains": [
                chain["chain_id"] for chain in assembled if chain["paired_source_rows"][row] >= 0]})
            entry["rows"] += 1
        summary["paired_rows"] = len(assembled[0]["paired_source_rows"]) - 1
        summary["species"] = list(by_species.values())
    return summary


def merge_complex(chains: Sequence[ComplexChain]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The merged features of a complex (chains in input order) and the pairing summary."""
    assembled = _assemble(chains)
    paired = len({chain["entity"] for chain in assembled}) > 1
    species: list[bytes] = []
    if paired:
        missing = [chain["chain_id"] for chain in assembled if "msa_all_seq" not in chain]
        if missing:
            raise SnakefoldError(f"chains {', '.join(missing)} of a heteromer have no UniProt MSA (uniprot_hits.sto), "
                                 "which pairing needs")
        rows, species = pair_rows(assembled)
        assembled = deduplicate_unpaired_rows(apply_pairing(assembled, rows))
        for column, chain in enumerate(assembled):
            chain["paired_source_rows"] = rows[:, column]
    for chain in assembled:
        _crop(chain, paired)
        if paired:
            chain["paired_source_rows"] = chain["paired_source_rows"][:chain["num_alignments_all_seq"]]
    merged = _pad_rows(_merge(assembled, paired), MIN_MSA_ROWS)
    return merged, _pairing_summary(assembled, species, paired, merged)
