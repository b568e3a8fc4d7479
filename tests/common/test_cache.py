"""The content-keyed cache: stable keys, sealed entries, interrupted or corrupted entries found."""

from __future__ import annotations

from snakefold.plan.cache import content_key, invalid_reason, seal


def test_key_is_stable_and_sensitive():
    parts = {"sequence": "ACDE", "tool": "jackhmmer", "version": "3.3.2", "options": {"E": 1e-4, "N": 1}}
    same = {"options": {"N": 1, "E": 1e-4}, "version": "3.3.2", "tool": "jackhmmer", "sequence": "ACDE"}
    assert content_key(parts) == content_key(same)
    assert content_key(parts) != content_key({**parts, "sequence": "ACDF"})
    assert content_key(parts) != content_key({**parts, "options": {"E": 1e-3, "N": 1}})


def test_sealed_entry_is_kept(tmp_path):
    entry = tmp_path / "msa" / "k.a3m"
    entry.parent.mkdir()
    entry.write_text(">q\\nACDE\\n")
    seal(entry, {"sequence": "ACDE"})
    assert invalid_reason(entry) is None


def test_interrupted_and_corrupted_entries_are_found(tmp_path):
    unsealed = tmp_path / "a.a3m"
    unsealed.write_text(">q\\nACDE\\n")
    assert "no manifest" in invalid_reason(unsealed)

    corrupted = tmp_path / "b.a3m"
    corrupted.write_text(">q\\nACDE\\n")
    seal(corrupted, {"sequence": "ACDE"})
    corrupted.write_text(">q\\nACDF\\n")  # same size, other content
    assert "checksum" in invalid_reason(corrupted)

    truncated = tmp_path / "c.a3m"
    truncated.write_text(">q\\nACDE\\n")
    seal(truncated, {"sequence": "ACDE"})
    truncated.write_text(">q")
    assert "size" in invalid_reason(truncated)


def test_absent_entry_is_fine(tmp_path):
    assert invalid_reason(tmp_path / "none.a3m") is None
