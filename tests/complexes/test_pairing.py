"""AlphaFold-Multimer's pairing rules on small MSAs whose expected pairs are worked out by hand."""

from __future__ import annotations

import numpy as np

from snakefold.msa.pairing import (
    MAX_ROWS_PER_SPECIES,
    MSA_GAP_INDEX,
    apply_pairing,
    deduplicate_unpaired_rows,
    pair_rows,
)


def chain(rows: list[str], species: list[str]) -> dict[str, np.ndarray]:
    """A chain's ``*_all_seq`` features from rows of digits (0-20: residue indices) and species codes."""
    msa = np.array([[int(letter, 36) for letter in row] for row in rows], dtype=np.int32)
    return {
        "msa_all_seq": msa,
        "deletion_matrix_all_seq": np.arange(msa.size, dtype=np.float32).reshape(msa.shape),
        "msa_species_identifiers_all_seq": np.array([name.encode() for name in species], dtype=np.bytes_),
    }


def test_rows_pair_by_species_best_identity_first_then_by_index_product():
    first = chain(["0000", "1111", "2222", "0001", "0011"], ["", "X", "Y", "X", "X"])
    second = chain(["00000", "01234", "00001", "00000"], ["", "Y", "X", "Z"])
    rows, species = pair_rows([first, second])
    # X: rows 1 (identity 0), 3 (3/4) and 4 (2/4) of the first chain, one row of the second: the best first
    # row (3) pairs with row 2. Y: row 2 with row 1. Z is in one chain only. Products 3*2=6 and 2*1=2.
    np.testing.assert_array_equal(rows, [[0, 0], [2, 1], [3, 2]])
    assert species == [b"", b"Y", b"X"]


def test_species_of_some_chains_pair_after_all_chain_pairs_with_padding_rows():
    first = chain(["000", "111", "222"], ["", "X", "W"])
    second = chain(["000", "111", "222"], ["", "X", "V"])
    third = chain(["000", "111", "222", "333"], ["", "W", "X", "X"])
    rows, species = pair_rows([first, second, third])
    # X is in all three chains (third chain: rows 2 and 3 tie at identity 0, one is taken); W in two.
    assert species == [b"", b"X", b"W"]
    assert rows[0].tolist() == [0, 0, 0]
    assert rows[1].tolist()[:2] == [1, 1] and rows[1][2] in (2, 3)
    assert rows[2].tolist() == [2, -1, 1]
    paired = apply_pairing([first, second, third], rows)
    padding = paired[1]["msa_all_seq"][2]
    assert (padding == MSA_GAP_INDEX).all() and (paired[1]["deletion_matrix_all_seq"][2] == 0).all()
    assert paired[1]["msa_species_identifiers_all_seq"].tolist() == [b"", b"X", b""]
    assert all(int(chain_features["num_alignments_all_seq"]) == 3 for chain_features in paired)


def test_a_species_with_more_rows_than_the_limit_in_any_chain_is_not_paired():
    def many(count: int, name: str) -> dict[str, np.ndarray]:
        return chain(["00"] + ["11"] * count, [""] + [name] * count)

    at_limit = pair_rows([many(MAX_ROWS_PER_SPECIES, "X"), many(2, "X")])[0]
    over_limit = pair_rows([many(MAX_ROWS_PER_SPECIES + 1, "X"), many(2, "X")])[0]
    assert len(at_limit) == 3  # the query and min(600, 2) pairs
    np.testing.assert_array_equal(over_limit, [[0, 0]])


def test_unpaired_rows_equal_to_a_paired_row_are_dropped():
    features = chain(["000", "111"], ["", "X"])
    features.update(msa=np.array([[0, 0, 0], [2, 2, 2], [1, 1, 1], [3, 3, 3]], dtype=np.int32),
                    deletion_matrix=np.arange(12, dtype=np.float32).reshape(4, 3))
    kept = deduplicate_unpaired_rows([features])[0]
    np.testing.assert_array_equal(kept["msa"], [[2, 2, 2], [3, 3, 3]])
    np.testing.assert_array_equal(kept["deletion_matrix"], [[3, 4, 5], [9, 10, 11]])
    assert int(kept["num_alignments"]) == 2
