"""The templates rule run by the real snakemake: one job per distinct sequence, cached by content, database
problems reported before any job, nothing needed when templates are disabled."""

from __future__ import annotations

import numpy as np
import pytest

from snakefold.plan.cache import invalid_reason
from tests.workflow.conftest import job_counts, run_snakemake, write_config

UBIQUITIN_MUTANT = "MQIFVKTLTGRTVTLEVEPSDTIENVKAKIQDREGIPPDQQRLIFAGKQIEDARTLSDYNIQKESTLHLVLRLRGG"
LYSOZYME_MUTANT = ("MNIFEMLRIDEGLRLKIYKDTEGYYTIGIGHLLTKSPSLNAAKSELDKAIGRNTNGVITKDEAEKLFNQDVDAAVRGILRNAKLKPV"
                   "YDSLDAVRRAALINMVFQMGETGVAGFTNSLRMLQQKRWDEAAVNLAKSRWYNQTPNRAKRVITTFRTGTWDAYKNL")


def template_config(template_db, **templates):
    return {"inputs": ["in.fasta"], "msa": {"mode": "single_sequence"}, "templates": templates,
            "databases": {"pdb70": str(template_db.prefix), "pdb_mmcif": str(template_db.mmcif_dir),
                          "obsolete_pdbs": str(template_db.prefix.parent / "obsolete.dat")}}


@pytest.mark.slow
def test_one_cached_job_per_distinct_sequence(template_db, tmp_path):
    (tmp_path / "in.fasta").write_text(f">ubq_a\n{UBIQUITIN_MUTANT}\n>ubq_b\n{UBIQUITIN_MUTANT}\n"
                                       f">t4l\n{LYSOZYME_MUTANT}\n")
    config = write_config(tmp_path, template_config(template_db))
    dry = run_snakemake(tmp_path, "all_templates", "-n", "--configfile", str(config))
    assert dry.returncode == 0, dry.stderr
    assert job_counts(dry.stdout) == {"query_fasta": 2, "templates": 2, "all_templates": 1, "total": 5}

    result = run_snakemake(tmp_path, "all_templates", "--cores", "2", "--configfile", str(config))
    assert result.returncode == 0, result.stderr
    entries = sorted((tmp_path / "cache" / "templates").glob("*.npz"))
    assert len(entries) == 2
    first_templates = set()
    for entry in entries:
        assert invalid_reason(entry) is None and invalid_reason(entry.with_suffix(".hhr")) is None
        with np.load(entry, allow_pickle=False) as features:
            first_templates.add(features["template_domain_names"][0])
    assert first_templates == {b"1ubq_A", b"2lzm_A"}
    logs = "".join(path.read_text() for path in (tmp_path / "results" / "_logs" / "templates").glob("*.log"))
    assert "1ubq_A\tkept\tkept as 1ubq_A" in logs

    again = run_snakemake(tmp_path, "all_templates", "-n", "--configfile", str(config))
    assert again.returncode == 0 and "Nothing to be done" in again.stdout, again.stdout

    earlier = write_config(tmp_path, template_config(template_db, max_template_date="1990-01-01"))
    changed = run_snakemake(tmp_path, "all_templates", "-n", "--configfile", str(earlier))
    assert job_counts(changed.stdout)["templates"] == 2


def test_missing_database_stops_before_any_job_unless_disabled(template_db, tmp_path):
    (tmp_path / "in.fasta").write_text(f">ubq\n{UBIQUITIN_MUTANT}\n")
    settings = template_config(template_db)
    settings["databases"]["pdb70"] = str(tmp_path / "nowhere" / "pdb70")
    config = write_config(tmp_path, settings)
    result = run_snakemake(tmp_path, "all_templates", "-n", "--configfile", str(config))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in output and "Job stats" not in output
    assert "config key 'databases.pdb70' (template search; set templates.enabled: false" in output
    assert f"{tmp_path}/nowhere/pdb70" in output

    settings["templates"] = {"enabled": False}
    config = write_config(tmp_path, settings)
    disabled = run_snakemake(tmp_path, "all_templates", "-n", "--configfile", str(config))
    assert disabled.returncode == 0, disabled.stderr
    assert "templates" not in job_counts(disabled.stdout)
