"""`snakefold build-db` and the database catalog: layouts, records, up-to-date checks, damaged databases."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from snakefold.cli import main as snakefold_main
from snakefold.cli.build_db import read_fasta_records
from snakefold.common.errors import SnakefoldError
from snakefold.install import databases
from snakefold.plan.config import SCHEMA_DIR
from snakefold.tools import ffindex, mmseqs


def test_every_built_format_has_its_layout_and_a_record(tiny_databases):
    for fmt, path in (("fasta", tiny_databases.fasta), ("hhsuite", tiny_databases.hhsuite),
                      ("mmseqs", tiny_databases.mmseqs)):
        assert databases.missing_files(fmt, path) == []
        assert databases.check_database("tiny", fmt, path) == []
        record = json.loads(databases.build_manifest_path(path).read_text())
        for name, size in record["files"].items():
            assert (Path(path).parent / name).stat().st_size == size


def test_hhsuite_entries_are_cluster_msas_with_the_original_headers(tiny_databases):
    prefix = tiny_databases.hhsuite
    entries = dict(ffindex.read_entries(f"{prefix}_a3m.ffdata", f"{prefix}_a3m.ffindex"))
    record = json.loads(databases.build_manifest_path(prefix).read_text())
    assert len(entries) == record["entries"]
    # 40 sequences: the homologs of one family cluster together (30% identity), the decoys stay alone.
    assert len(entries) < 40
    headers = [line[1:] for text in entries.values() for line in text.decode().splitlines() if line.startswith(">")]
    assert len(headers) == 40
    assert set(headers) == {line[1:] for line in tiny_databases.fasta_input.read_text().splitlines()
                            if line.startswith(">")}
    family_entry = next(text.decode() for text in entries.values() if text.count(b">") >= 5)
    assert all("homolog" in line for line in family_entry.splitlines() if line.startswith(">"))
    for part in ("a3m", "hhm", "cs219"):
        names = [name for name, _, _ in ffindex.read_index(f"{prefix}_{part}.ffindex")]
        assert names == sorted(names) and len(names) == len(entries)


def test_mmseqs_database_holds_every_record(tiny_databases):
    headers = [entry.decode().strip() for entry in mmseqs.read_entries(f"{tiny_databases.mmseqs}_h")]
    assert len(headers) == 40 and headers[0].startswith("tr|QU0000X|QU0000X_HUMAN")


def build(*arguments):
    return snakefold_main(["build-db", *arguments])


def test_if_changed_skips_an_intact_database_and_rebuilds_a_changed_one(tmp_path, capsys):
    source = tmp_path / "in.fasta"
    source.write_text(">a\nMKVLAAGIV\n>b\nMKVLSAGIV\n")
    output = tmp_path / "db" / "small.fasta"
    assert build("--format", "fasta", "--input", str(source), "--output", str(output), "--if-changed") == 0
    first = output.stat().st_mtime_ns
    assert build("--format", "fasta", "--input", str(source), "--output", str(output), "--if-changed") == 0
    assert "is up to date" in capsys.readouterr().out
    assert output.stat().st_mtime_ns == first
    source.write_text(">a\nMKVLAAGIV\n>b\nMKVLSAGIV\n>c\nMKKLSAGIV\n")
    assert build("--format", "fasta", "--input", str(source), "--output", str(output), "--if-changed") == 0
    assert output.read_text().count(">") == 3
    with open(output, "a") as handle:
        handle.write(">d\nMK\n")  # changed by hand: its size no longer matches the record
    assert build("--format", "fasta", "--input", str(source), "--output", str(output), "--if-changed") == 0
    assert output.read_text().count(">") == 3


def test_bad_fasta_input_lists_every_problem(tmp_path):
    source = tmp_path / "in.fasta"
    source.write_text(">a\nMKV1L\n>a\nMKV\n>\nMKV\n>b\n\n")
    with pytest.raises(SnakefoldError) as error:
        read_fasta_records([source])
    message = str(error.value)
    assert "record 'a' has characters that are not residues: '1'" in message
    assert "record 'a' appears twice" in message
    assert "a record has no ID" in message
    assert "record 'b' has no sequence" in message


def test_truncated_or_missing_databases_are_named(tiny_databases, tmp_path):
    copy = tmp_path / "copy"
    for file in databases.database_files("hhsuite", tiny_databases.hhsuite):
        (tmp_path / Path(file).name.replace("tiny", "copy")).write_bytes(Path(file).read_bytes())
    assert databases.check_database("bfd", "hhsuite", copy) == []
    data = tmp_path / "copy_a3m.ffdata"
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    problems = databases.check_database("bfd", "hhsuite", copy)
    assert len(problems) == 1
    assert "database 'bfd'" in problems[0] and "copy_a3m.ffdata" in problems[0] and "truncated" in problems[0]
    os.remove(tmp_path / "copy_cs219.ffindex")
    assert "missing" in databases.check_database("bfd", "hhsuite", copy)[0]


def test_truncation_against_the_build_record(tiny_databases, tmp_path):
    copy = tmp_path / "copy.fasta"
    copy.write_text(tiny_databases.fasta.read_text())
    record = json.loads(databases.build_manifest_path(tiny_databases.fasta).read_text())
    record["files"] = {"copy.fasta": record["files"]["tiny.fasta"]}
    databases.build_manifest_path(copy).write_text(json.dumps(record))
    assert databases.check_database("uniref90", "fasta", copy) == []
    copy.write_text(copy.read_text()[:-50])
    problems = databases.check_database("uniref90", "fasta", copy)
    assert problems and "truncated or changed since it was built" in problems[0]


def test_verified_database_is_not_read_again_until_it_changes(tiny_databases, tmp_path):
    fmt, path = "mmseqs", tiny_databases.mmseqs
    assert databases.check_database("db", fmt, path, verified_dir=tmp_path) == []
    stamps = list(tmp_path.iterdir())
    assert len(stamps) == 1 and databases.fingerprint(fmt, path) in stamps[0].name


def test_fingerprint_follows_size_and_modification_time(tmp_path):
    database = tmp_path / "db.fasta"
    database.write_text(">a\nMKV\n")
    first = databases.fingerprint("fasta", database)
    assert databases.fingerprint("fasta", database) == first
    os.utime(database, ns=(1, 1))
    assert databases.fingerprint("fasta", database) != first


def test_catalog_presets_and_schema_agree():
    catalog = databases.catalog()
    schema = yaml.safe_load((SCHEMA_DIR / "databases.schema.yaml").read_text())
    assert set(catalog) <= set(schema["properties"])
    assert set(databases.presets()) == set(schema["properties"]["preset"]["enum"])
    for preset in databases.presets().values():
        for search in preset["msa"]:
            assert search["tool"] in databases.TOOL_FORMATS
            for name in search["databases"]:
                assert catalog[name].format == databases.TOOL_FORMATS[search["tool"]]
        assert all(name in catalog for name in preset["templates"])
    for entry in catalog.values():
        assert entry.format in databases.FORMATS and entry.description
    full = [search["name"] for search in databases.presets()["full_dbs"]["msa"]]
    assert full == ["uniref90", "bfd_uniref30", "mgnify"]
