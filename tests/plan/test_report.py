"""The report rules' {target} constraints: each target matched by its own kind's rule alone, in constraints
as long as the smaller kind's names; the files of each kind."""

from __future__ import annotations

import re

import pytest

from snakefold.plan.report import ReportKind, kind_wildcards


def _rule_of(name: str, single: str, complexes: str) -> list[str]:
    """The report rules whose output pattern `results/{target}/ranking.json` takes ``name``'s file."""
    path = f"results/{name}/ranking.json"
    return [rule for rule, constraint in (("target", single), ("complex", complexes))
            if re.fullmatch(rf"results/(?P<target>{constraint})/ranking\.json", path)]


@pytest.mark.parametrize("singles, complexes", [
    (["ab", "ab.c", "x-1"], ["abc", "ab_c"]),            # fewer complexes: the single rule excludes them
    (["abc"], ["ab", "ab.c", "x-1", "abc__d"]),           # fewer singles: the complex rule excludes them
    ([], ["a__b", "b__c"]),                               # a screen alone
    (["a", "b"], []),                                     # a proteome alone
])
def test_each_target_is_reported_by_its_own_kind_s_rule_alone(singles, complexes):
    single, complex_ = kind_wildcards(singles, complexes)
    for name in singles:
        assert _rule_of(name, single, complex_) == ["target"], name
    for name in complexes:
        assert _rule_of(name, single, complex_) == ["complex"], name
    smaller = min(singles, complexes, key=len)
    assert len(single) + len(complex_) <= 100 + 2 * sum(len(name) + 1 for name in smaller)
    assert _rule_of("_work", single, complex_) == []


def test_a_kind_lists_its_files_ranking_first_and_interfaces_last():
    kind = ReportKind("report_complex", "Complexes", "complex", ("m1_seed0", "m2_seed0"), ("m1_seed0",),
                      interfaces=True)
    files = kind.files("results/hb")
    assert files[0] == "results/hb/ranking.json" and files[-1] == "results/hb/interfaces.tsv"
    assert "results/hb/pae_m1_seed0.json" in files and "results/hb/pae_m2_seed0.json" not in files
    assert [path for path in files if path.endswith(".png")] == [
        "results/hb/plddt.png", "results/hb/coverage.png", "results/hb/pae.png"]
    assert len(files) == len(set(files)) == 3 + 4 + 2 + 1 + 3 + 1
    no_pae = ReportKind("report_target", "Targets", "target", ("m3_seed0",), (), interfaces=False)
    assert "results/t/pae.png" not in no_pae.files("results/t")
