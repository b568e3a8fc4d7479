"""Complex sheets and pulldown screens at intake: every rule with a message naming file, line and complex."""

from __future__ import annotations

import pytest

from snakefold.common.errors import SnakefoldError
from snakefold.common.fasta import sequence_key
from snakefold.common.target_record import (
    batch_document,
    read_target_record,
    read_target_records,
    record_json,
    write_batch_document,
)
from snakefold.plan.batch import batch_from_config, targets_tsv
from snakefold.plan.complexes import target_presets
from snakefold.plan.config import validate_config

HBA = "VLSPADKTNVKAAWGKVGAHAGEYGAEALERMFLSFPTTKTYFPHFDLSHGSAQVKGHGKKVADALTNAVAHVDDMPNALSALSDLHAHKL"
HBB = "VHLTPEEKSAVTALWGKVNVDEVGGEALGRLLVVYPWTQRFFESFGDLSTPDAVMGNPKVKAHGKKVLGAFSDGLAHLDNLKGTFATLSE"
UBQ = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"
GB1 = "MTYKLILNGKTLKGETTTEAVDAATAEKVFKQYANDNGVDGEWTYDDATKTFTVTE"


def fasta(path, records: dict[str, str]):
    path.write_text("".join(f">{name}\n{sequence}\n" for name, sequence in records.items()))
    return str(path)


def batch_of(tmp_path, **config):
    return batch_from_config(validate_config(config))


def errors(batch) -> list[str]:
    return [str(error) for error in batch.errors]


def chains_of(target) -> list[tuple[str, str]]:
    return [(chain.chain_id, chain.record_id) for chain in target.chains]


# -------------------------------------------------------------------------------------------------- sheets
def test_tsv_sheet_expands_copies_in_place_and_names_records_by_id_or_target_name(tmp_path):
    inputs = fasta(tmp_path / "in.fasta", {"sp|P69905|HBA_HUMAN": HBA, "ubq": UBQ})
    chains = fasta(tmp_path / "chains.fasta", {"HBB_HUMAN": HBB})
    sheet = tmp_path / "complexes.tsv"
    sheet.write_text("# name\tchains\n\nhemoglobin\tsp_P69905_HBA_HUMAN:2, HBB_HUMAN:2  # by target name and ID\n"
                     "ub_dimer\tubq:2\n")
    batch = batch_of(tmp_path, inputs=[inputs], complexes={"sheets": [str(sheet)], "chains": [chains]})
    assert errors(batch) == [] and batch.warnings[0].record_id == "sp|P69905|HBA_HUMAN"
    assert [target.name for target in batch.targets] == ["sp_P69905_HBA_HUMAN", "ubq"]  # chains: not folded alone
    hemoglobin, dimer = batch.complexes
    assert chains_of(hemoglobin) == [("A", "sp|P69905|HBA_HUMAN"), ("B", "sp|P69905|HBA_HUMAN"), ("C", "HBB_HUMAN"),
                                     ("D", "HBB_HUMAN")]
    assert hemoglobin.sequence == f"{HBA}:{HBA}:{HBB}:{HBB}" and hemoglobin.length == 2 * (len(HBA) + len(HBB))
    assert (hemoglobin.path, hemoglobin.line) == (str(sheet), 3)
    assert dimer.is_complex and batch.paired_chain_keys == [sequence_key(HBA), sequence_key(HBB)]
    table = targets_tsv(batch.targets + batch.complexes).splitlines()
    assert table[0].split("\t")[-1] == "chains"
    assert table[3].split("\t")[-1] == ",".join([sequence_key(HBA)] * 2 + [sequence_key(HBB)] * 2)
    # the record a complex's jobs read keeps its chains
    (tmp_path / "hemoglobin.json").write_text(record_json(hemoglobin))
    assert read_target_record(tmp_path / "hemoglobin.json") == hemoglobin
    write_batch_document(tmp_path / "batch.json", batch_document([hemoglobin], {}))
    assert read_target_records(tmp_path / "batch.json", ["hemoglobin"]) == [hemoglobin]


def test_yaml_sheet_in_its_three_forms_with_lines_for_every_problem(tmp_path):
    inputs = fasta(tmp_path / "in.fasta", {"HBA": HBA, "HBB": HBB, "bad": "MK1LV", "cx": f"{HBA}:{HBB}"})
    sheet = tmp_path / "sheet.yaml"
    sheet.write_text("text: HBA:2,HBB:2\n"
                     "listed:\n  - HBA\n  - HBB:2\n"
                     "mapped: {HBA: 1, HBB: 3}\n"
                     "wrong:\n  - HBA\n  - HBBB\n  - bad\n  - cx\n  - HBA:none\n")
    batch = batch_of(tmp_path, inputs=[inputs], complexes={"sheets": [str(sheet)]}, on_invalid="skip")
    assert [(t.name, len(t.chains)) for t in batch.complexes] == [("cx", 2), ("text", 4), ("listed", 3), ("mapped", 4)]
    assert chains_of(batch.complexes[2]) == [("A", "HBA"), ("B", "HBB"), ("C", "HBB")]
    assert [error for error in errors(batch) if str(sheet) in error] == [
        (f"{sheet}:8: record 'wrong': 'HBBB' is not a record of the batch (did you mean 'HBB'?); a sheet names "
        "single-chain records of 'inputs' or 'complexes.chains' by ID or target name, with an optional copy number "
        "(ID:2)"),
        (f"{sheet}:9: record 'wrong': the record 'bad' was rejected ({tmp_path / 'in.fasta'}:6: column 3: '1' is a "
        "digit; sequences hold amino-acid letters only (remove numbering))"),
        (f"{sheet}:10: record 'wrong': 'cx' ({tmp_path / 'in.fasta'}:7) is a complex; complexes are made of "
        "single-chain records"),
        (f"{sheet}:11: record 'wrong': 'HBA:none': the copy number after ':' must be a whole number of at least 1, "
        "not 'none' (name a record whose ID holds ':' by its target name)")]


@pytest.mark.parametrize("line, message", [
    ("solo\tHBA", "one chain is not a complex: give a copy number (RECORD:2 for a homodimer) or more records"),
    ("zero\tHBA:0,HBB", "'HBA:0': the copy number after ':' must be a whole number of at least 1, not '0'"),
    ("square\tHBA:\u00b2", "'HBA:\u00b2': the copy number after ':' must be a whole number of at least 1, not '\u00b2'"
                          " (name a record"),
    ("gap\tHBA,,HBB", "an empty record name in the list of chains"),
    ("alone", "the line names a complex but no chains"),
    ("huge\tHBA:40,HBB:23", "the complex has 63 chains (copies included); AlphaFold2 names at most 62"),
    ("giant\tHBA:999999999999", "the complex has 999999999999 chains (copies included); AlphaFold2 names at most 62"),
    ("long\tHBA:20", f"the complex has {20 * len(HBA)} residues in its 20 chains, more than max_length (1500"),
    ("summary.tsv\tHBA,HBB", "the target name 'summary.tsv' is reserved"),
    ("hba\tHBA,HBB", "the IDs 'HBA' ("),
])
def test_every_sheet_rule_names_the_sheet_line_and_complex(tmp_path, line, message):
    inputs = fasta(tmp_path / "in.fasta", {"HBA": HBA, "HBB": HBB})
    sheet = tmp_path / "sheet.tsv"
    sheet.write_text(f"ok\tHBA,HBB\n{line}\n")
    batch = batch_of(tmp_path, inputs=[inputs], complexes={"sheets": [str(sheet)]}, max_length=1500)
    [error] = errors(batch)
    name = line.split()[0]
    assert error.startswith(f"{sheet}:2: record '{name}': ") and message in error, error
    assert [target.name for target in batch.complexes] == ["ok"]


def test_copy_numbers_are_counted_before_any_copy_is_made(tmp_path):
    inputs = fasta(tmp_path / "in.fasta", {"HBA": HBA, "HBB": HBB})
    (tmp_path / "sheet.yaml").write_text(f"giant: {{HBA: 999999999999}}\nendless: [HBB, 'HBA:{'9' * 5000}']\n"
                                         "ok: [HBA, HBB]\n")
    batch = batch_of(tmp_path, inputs=[inputs], complexes={"sheets": [str(tmp_path / "sheet.yaml")]})
    assert errors(batch) == [
        (f"{tmp_path / 'sheet.yaml'}:1: record 'giant': the complex has 999999999999 chains (copies included); "
         "AlphaFold2 names at most 62 (one per PDB chain ID)"),
        (f"{tmp_path / 'sheet.yaml'}:2: record 'endless': 'HBA:{'9' * 53}...': the copy number has 5000 digits; a "
         "complex holds at most 62 chains (one per PDB chain ID)")]
    assert [target.name for target in batch.complexes] == ["ok"]


def test_a_tsv_name_ends_at_its_tab_and_is_named_as_in_yaml(tmp_path):
    inputs = fasta(tmp_path / "in.fasta", {"HBA": HBA, "HBB": HBB})
    (tmp_path / "sheet.tsv").write_text("my complex\tHBA, HBB:2\nspaced HBA, HBB\n")
    (tmp_path / "sheet.yaml").write_text("my complex: [HBA, HBB:2]\nspaced: HBA, HBB\n")
    found = {}
    for sheet in ("sheet.tsv", "sheet.yaml"):
        batch = batch_of(tmp_path, inputs=[inputs], complexes={"sheets": [str(tmp_path / sheet)]})
        assert errors(batch) == [] and [str(warning) for warning in batch.warnings] == [
            (f"{tmp_path / sheet}:1: record 'my complex': the complex's name is not a usable file name as it stands; "
             "the target is named 'my_complex'")]
        found[sheet] = [(t.name, t.record_id, t.sequence, t.chains) for t in batch.complexes]
    assert found["sheet.tsv"] == found["sheet.yaml"]
    assert [(name, [chain.record_id for chain in chains]) for name, _, _, chains in found["sheet.tsv"]] == [
        ("my_complex", ["HBA", "HBB", "HBB"]), ("spaced", ["HBA", "HBB"])]


def test_chain_records_of_unknown_residues_alone_are_rejected(tmp_path):
    inputs = fasta(tmp_path / "in.fasta", {"HBA": HBA})
    chains = fasta(tmp_path / "chains.fasta", {"HBX": "X" * 20, "HBB": HBB})
    sheet = tmp_path / "sheet.tsv"
    sheet.write_text("hx\tHBA,HBX\nhb\tHBA,HBB\n")
    baits = fasta(tmp_path / "baits.fasta", {"BX": "BZJ" * 8, "B": HBB})
    batch = batch_of(tmp_path, inputs=[inputs], complexes={"sheets": [str(sheet)], "chains": [chains]},
                     pulldown={"baits": [baits], "preys": [inputs]}, on_invalid="skip")
    reason = ("the sequence holds only unknown residues (X, or codes read as X): AlphaFold2 places no atoms for X, "
              "so there is no structure to predict; give the protein's sequence")
    assert errors(batch) == [f"{baits}:1: record 'BX': {reason}", f"{chains}:1: record 'HBX': {reason}",
                             f"{sheet}:1: record 'hx': the record 'HBX' was rejected ({chains}:1: {reason})"]
    assert [target.name for target in batch.complexes] == ["hb", "B__HBA"]


def test_unreadable_sheets_are_named(tmp_path):
    inputs = fasta(tmp_path / "in.fasta", {"HBA": HBA})
    (tmp_path / "broken.yaml").write_text("hb: [HBA, HBB\nother: x\n")
    (tmp_path / "list.yaml").write_text("- HBA\n")
    (tmp_path / "sheet.csv").write_text("hb,HBA\n")
    sheets = [str(tmp_path / name) for name in ("broken.yaml", "list.yaml", "sheet.csv", "absent.tsv")]
    found = errors(batch_of(tmp_path, inputs=[inputs], complexes={"sheets": sheets}))
    assert any(e.startswith(f"{tmp_path / 'broken.yaml'}:") and "not valid YAML" in e for e in found), found
    assert f"{tmp_path / 'list.yaml'}:1: a YAML complex sheet is a mapping of complex names" in "\n".join(found)
    assert f"config complexes.sheets[2]: '{tmp_path / 'sheet.csv'}' is neither a TSV sheet" in "\n".join(found)
    assert f"config complexes.sheets[3]: the complex sheet '{tmp_path / 'absent.tsv'}' does not exist" in found


# ------------------------------------------------------------------------------------------------ pulldown
def test_pulldown_folds_every_bait_with_every_prey_once(tmp_path):
    baits = fasta(tmp_path / "baits.fasta", {"B1": HBA, "B2": HBB})
    preys_dir = tmp_path / "preys"
    preys_dir.mkdir()
    fasta(preys_dir / "p.fasta", {"P1": UBQ, "B1": HBA})  # the same record in both lists: one protein
    batch = batch_of(tmp_path, pulldown={"baits": [baits], "preys": [str(preys_dir)]})
    assert errors(batch) == [] and batch.targets == []
    assert [t.name for t in batch.complexes] == ["B1__P1", "B1__B1", "B2__P1", "B2__B1"]
    assert chains_of(batch.complexes[2]) == [("A", "B2"), ("B", "P1")]
    assert batch.complexes[0].description == "pulldown pair: B1 x P1"
    all_vs_all = batch_of(tmp_path, pulldown={"baits": [baits], "preys": [str(preys_dir)], "all_vs_all": True,
                                              "homodimers": True})
    assert [t.name for t in all_vs_all.complexes] == ["B1__B2", "B1__P1", "B2__P1", "B1__B1", "B2__B2", "P1__P1"]
    assert len(all_vs_all.chain_sequences) == 3 and len(all_vs_all.paired_chain_keys) == 3


def test_pulldown_names_are_safe_bounded_and_collision_checked_without_case(tmp_path):
    long_id = "sp|Q9XYZ1|" + "VERYLONGPROTEINNAME" * 4
    baits = fasta(tmp_path / "baits.fasta", {"abc": HBA, "ABC": HBB, long_id: GB1})
    preys = fasta(tmp_path / "preys.fasta", {"x|1": UBQ, "tiny": "MKV"})
    inputs = fasta(tmp_path / "in.fasta", {"abc__x_1": GB1})  # its target name is 'abc_x_1': no clash with a pair
    batch = batch_of(tmp_path, inputs=[inputs], pulldown={"baits": [baits], "preys": [preys]})
    names = [t.name for t in batch.complexes]
    assert names[0] == "abc__x_1" and len(names) == 2 and len(names[1]) == 64
    assert names[1].startswith("sp_Q9XYZ1_VERYLONGPROTEINNAME") and names[1][-9] == "_"
    again = batch_of(tmp_path, inputs=[inputs], pulldown={"baits": [baits], "preys": [preys]})
    assert [t.name for t in again.complexes] == names  # stable
    assert errors(batch) == [
        (f"{baits}:3: record 'ABC__x|1': the IDs 'abc__x|1' ({baits}:1) and 'ABC__x|1' both become the target name "
        f"'ABC__x_1'; rename one of them (pulldown pair of 'ABC' at {baits}:3 and 'x|1' at {preys}:1)"),
        f"{preys}:3: record 'tiny': the sequence has 3 residues, fewer than min_length (10)"]


def test_pulldown_records_must_be_single_chains_within_limits(tmp_path):
    baits = fasta(tmp_path / "baits.fasta", {"cx": f"{HBA}:{HBB}", "B": HBA})
    preys = fasta(tmp_path / "preys.fasta", {"P": HBB})
    batch = batch_of(tmp_path, pulldown={"baits": [baits], "preys": [preys]}, max_length=len(HBA) + 10)
    assert errors(batch) == [
        (f"{baits}:1: record 'cx': a record of 'pulldown.baits' is one chain; ':' makes a complex, which only 'inputs' "
        "may hold"),
        (f"{baits}:3: record 'B__P': the complex has {len(HBA) + len(HBB)} residues in its 2 chains, more than "
        f"max_length ({len(HBA) + 10}, which applies to the complex's total length) (pulldown pair of 'B' at "
        f"{baits}:3 and 'P' at {preys}:1)")]


@pytest.mark.parametrize("config, message", [
    ({}, "config key 'inputs' is required but missing"),
    ({"pulldown": {"baits": ["b.fasta"]}}, "config key 'pulldown.baits' is given but 'pulldown.preys' is not"),
    ({"pulldown": {"homodimers": True}, "inputs": ["in.fasta"]},
     "config key 'pulldown.homodimers' is set, but 'pulldown.baits' and 'pulldown.preys' name no file"),
    ({"inputs": ["in.fasta"], "model": {"multimer_presets": ["model_1_ptm"]}},
     "config key 'model.multimer_presets[0]' must be one of 'model_1_multimer_v3'"),
])
def test_config_problems_of_complexes_are_found_before_any_job(config, message):
    with pytest.raises(SnakefoldError) as raised:
        validate_config(config)
    assert message in str(raised.value)


def test_one_preset_family_per_target(tmp_path):
    inputs = fasta(tmp_path / "in.fasta", {"mono": HBA, "homomer": f"{HBA}:{HBA}", "hetero": f"{HBA}:{HBB}"})
    config = validate_config({"inputs": [inputs], "model": {"presets": ["model_1_ptm"]}})
    batch = batch_from_config(config)
    assert target_presets(config["model"], batch.targets[0]) == ["model_1_ptm"]
    multimer = [f"model_{i}_multimer_v3" for i in range(1, 6)]
    assert [target_presets(config["model"], target) for target in batch.complexes] == [multimer, multimer]


def test_pulldown_files_are_found_as_inputs_are_and_single_chain_tables_keep_their_columns(tmp_path):
    inputs = fasta(tmp_path / "in.fasta", {"HBA": HBA})
    batch = batch_of(tmp_path, inputs=[inputs], pulldown={"baits": [str(tmp_path / "absent.fasta")],
                                                          "preys": [str(tmp_path / "none_*.fasta")]})
    assert errors(batch) == [f"config pulldown.baits[0]: '{tmp_path / 'absent.fasta'}' does not exist",
                             f"config pulldown.preys[0]: the pattern '{tmp_path / 'none_*.fasta'}' matches no file"]
    assert targets_tsv(batch.targets).splitlines()[0].split("\t") == [
        "target", "record_id", "seq_key", "length", "file", "line", "description"]
