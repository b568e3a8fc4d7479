"""`snakefold msa` on its own: a planned search run for real, cut to its hit limit, sealed under its key; a
database changed after planning is refused."""

from __future__ import annotations

import json
import os

from snakefold.cli import main as snakefold_main
from snakefold.msa.formats import read_msa
from snakefold.plan.cache import content_key, invalid_reason
from snakefold.plan.config import validate_config
from snakefold.plan.msa import msa_plan
from snakefold.tools import jackhmmer
from tests.data.conftest import query_fasta


def plan_one_search(database, max_hits):
    config = {"msa": {"max_hits": {"mine": max_hits}},
              "databases": {"preset": "custom", "custom": [{"name": "mine", "tool": "jackhmmer",
                                                            "databases": [str(database)]}]}}
    plan = msa_plan(validate_config({"inputs": ["query.fasta"], **config}))
    assert plan.problems == []
    [search] = plan.searches
    return search


def run_msa(search, query, output, log):
    return snakefold_main(["msa", "--spec", json.dumps(search.to_spec()), "--query", str(query),
                           "--output", str(output), "--threads", "1", "--timeout-minutes", "10", "--log", str(log)])


def test_search_is_cut_to_its_hit_limit_and_sealed(tiny_databases, tmp_path):
    database = tmp_path / "db.fasta"
    database.write_text(tiny_databases.fasta.read_text())
    search = plan_one_search(database, max_hits=4)
    family = tiny_databases.families["ubiquitin"]
    query = query_fasta(tmp_path, family.query)
    key = content_key(search.key_parts(family.query, jackhmmer.version(), search.fingerprints()))
    output = tmp_path / "cache" / f"{key}.sto"
    log = tmp_path / "search.log"
    assert run_msa(search, query, output, log) == 0
    msa = read_msa(output)
    assert len(msa) == 4 and msa.query == family.query
    assert invalid_reason(output) is None
    assert "4 MSA rows kept (max_hits 4)" in log.read_text()


def test_the_error_of_a_changed_database_says_what_to_do(tiny_databases, tmp_path, capsys):
    database = tmp_path / "db.fasta"
    database.write_text(tiny_databases.fasta.read_text())
    search = plan_one_search(database, max_hits=4)
    key = content_key(search.key_parts("MKV", jackhmmer.version(), search.fingerprints()))
    os.utime(database, ns=(10**9, 10**9))  # replaced after the workflow planned the search
    output = tmp_path / f"{key}.sto"
    assert run_msa(search, query_fasta(tmp_path, "MKV"), output, tmp_path / "log") == 1
    assert "a database changed after the workflow was planned" in capsys.readouterr().err
    assert not output.exists()
