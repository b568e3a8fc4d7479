import pytest

from snakefold.common.chains import MAX_CHAINS, chain_ids
from snakefold.common.errors import SnakefoldError


def test_chain_ids_follow_alphafold_order():
    ids = chain_ids(MAX_CHAINS)
    assert ids[:3] == ["A", "B", "C"] and ids[26] == "a" and ids[-1] == "9"
    assert len(set(ids)) == MAX_CHAINS == 62


@pytest.mark.parametrize("count", [0, 63])
def test_chain_count_outside_pdb_ids_is_refused(count):
    with pytest.raises(SnakefoldError, match="1 to 62 chains"):
        chain_ids(count)
