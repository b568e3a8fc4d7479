"""What a config needs downloaded: the parameter set of its presets and the databases of its searches."""

from __future__ import annotations

import gzip
import shutil

import pytest

from snakefold.cli import main as snakefold_main
from snakefold.common.errors import SnakefoldError
from snakefold.install.databases import check_database
from snakefold.install.item import INSTALLED, check_item, install_item, record_path
from snakefold.install.manifest import database_item
from snakefold.model.param_sets import random_params_record, write_random_params_record
from snakefold.plan.config import validate_config
from snakefold.plan.downloads import download_plan, params_plan

FAST = dict(retry_wait=0.0, timeout=10.0, progress_interval=0.0)


def _plan(**sections):
    config = validate_config({"inputs": ["query.fasta"], **sections})
    plan, problems = download_plan(config)
    return {planned.item.name: planned for planned in plan}, problems


def test_full_dbs_needs_the_parameters_and_alphafold2s_databases():
    plan, problems = _plan(databases={"dir": "/data/af2"})
    assert problems == []
    assert set(plan) == {"alphafold_params_2022-12-06", "uniref90", "mgnify", "bfd", "uniref30", "pdb70",
                         "pdb_mmcif", "obsolete_pdbs"}
    assert str(plan["bfd"].directory) == "/data/af2/bfd"
    assert plan["bfd"].config_key == "databases.bfd"
    assert str(plan["pdb_mmcif"].directory) == str(plan["obsolete_pdbs"].directory) == "/data/af2/pdb_mmcif"
    params = plan["alphafold_params_2022-12-06"]
    assert str(params.directory) == "models/alphafold_params_2022-12-06" and len(params.needed) == 5


def test_each_preset_and_mode_needs_only_its_own_databases():
    reduced, _ = _plan(databases={"preset": "reduced_dbs"}, templates={"enabled": False})
    assert set(reduced) == {"alphafold_params_2022-12-06", "uniref90", "small_bfd", "mgnify"}
    colabfold, _ = _plan(databases={"preset": "colabfold"})
    assert set(colabfold) - {"alphafold_params_2022-12-06"} == {"colabfold_uniref30", "colabfold_envdb", "pdb70",
                                                                 "pdb_mmcif", "obsolete_pdbs"}
    hhblits_only, _ = _plan(msa={"mode": "hhblits"}, templates={"enabled": False})
    assert set(hhblits_only) == {"alphafold_params_2022-12-06", "bfd", "uniref30"}
    nothing, problems = _plan(msa={"mode": "single_sequence"}, templates={"enabled": False})
    assert set(nothing) == {"alphafold_params_2022-12-06"} and problems == []


def test_a_database_path_of_your_own_goes_where_the_config_says(tmp_path):
    plan, problems = _plan(databases={"uniref90": str(tmp_path / "seqs" / "my_uniref90.fa")},
                           msa={"mode": "jackhmmer"}, templates={"enabled": False})
    assert str(plan["uniref90"].directory) == str(tmp_path / "seqs")
    assert plan["uniref90"].item.sources[0].name == "my_uniref90.fa" and problems == []

    prefix = tmp_path / "hh" / "my_bfd"
    plan, problems = _plan(databases={"bfd": str(prefix)}, msa={"mode": "hhblits"}, templates={"enabled": False})
    assert "bfd" not in plan
    assert len(problems) == 1 and "config key 'databases.bfd'" in problems[0] and "my_bfd" in problems[0]
    prefix.parent.mkdir()
    for part in ("a3m", "hhm", "cs219"):
        for suffix in ("ffdata", "ffindex"):
            (tmp_path / "hh" / f"my_bfd_{part}.{suffix}").write_text("x")
    plan, problems = _plan(databases={"bfd": str(prefix)}, msa={"mode": "hhblits"}, templates={"enabled": False})
    assert "bfd" not in plan and problems == []  # already there: nothing to download


def test_params_plan_follows_the_model_section_and_explains_bad_keys(tmp_path):
    def plan(**sections):
        return params_plan(validate_config({"inputs": ["query.fasta"], **sections}))

    default, = plan()
    assert str(default.directory) == "models/alphafold_params_2022-12-06"
    assert default.config_key == "download.models_dir"
    assert default.needed == tuple(f"params_model_{i}_ptm.npz" for i in range(1, 6))
    planned, = plan(model={"params_dir": "/params", "presets": ["model_1_ptm"]})
    assert str(planned.directory) == "/params" and planned.needed == ("params_model_1_ptm.npz",)
    assert planned.config_key == "model.params_dir"
    # Random parameters made by `snakefold make-params` (the demo's) need no download.
    write_random_params_record(tmp_path / "params_model_3.npz", random_params_record("model_3", "small", 0, False))
    assert plan(model={"params_dir": str(tmp_path), "presets": ["model_3"]}) == []
    with pytest.raises(SnakefoldError, match="config key 'model.params_dir'.* for model_3 but not for model_4"):
        plan(model={"params_dir": str(tmp_path), "presets": ["model_3", "model_4"]})
    with pytest.raises(SnakefoldError, match=r"config key 'model.presets\[0\]' must be one of .*not 'model_9'"):
        plan(model={"presets": ["model_9"]})
    with pytest.raises(SnakefoldError, match="config key 'download.params_set': 'no_such_set'"):
        plan(download={"params_set": "no_such_set"})


def test_databases_sharing_a_directory_are_installed_side_by_side(file_server, tmp_path):
    obsolete_text = b"LIST OF OBSOLETE COORDINATE ENTRIES AND SUCCESSORS\nOBSLTE    26-SEP-06 2H33     2JM5\n"
    file_server.files["/obsolete.dat"] = obsolete_text
    obsolete, directory = database_item("obsolete_pdbs", tmp_path / "pdb_mmcif" / "obsolete.dat")
    mmcif_files = tmp_path / "pdb_mmcif" / "mmcif_files"
    mmcif_files.mkdir(parents=True)
    (mmcif_files / "1abc.cif").write_text("data_1abc\n")
    install_item(obsolete, directory, urls={"obsolete.dat": file_server.url("/obsolete.dat")}, **FAST)
    assert (directory / "obsolete.dat").read_bytes() == obsolete_text
    assert (mmcif_files / "1abc.cif").read_text() == "data_1abc\n"
    assert check_item(obsolete, directory).state == INSTALLED and record_path(directory, "obsolete_pdbs").exists()


@pytest.mark.skipif(shutil.which("rsync") is None, reason="rsync is not installed (Debian package 'rsync')")
def test_divided_mmcif_tree_is_mirrored_with_rsync_and_flattened(tmp_path):
    mirror = tmp_path / "mirror"
    for entry in ("1abc", "2abd"):
        (mirror / entry[1:3]).mkdir(parents=True, exist_ok=True)
        (mirror / entry[1:3] / f"{entry}.cif.gz").write_bytes(gzip.compress(f"data_{entry}\n".encode()))
    item, directory = database_item("pdb_mmcif", tmp_path / "db" / "pdb_mmcif" / "mmcif_files")
    install_item(item, directory, urls={item.sources[0].url: mirror.as_uri()}, log_path=tmp_path / "rsync.log")
    assert sorted(p.name for p in (directory / "mmcif_files").iterdir()) == ["1abc.cif", "2abd.cif"]
    assert check_item(item, directory).state == INSTALLED


def test_uniprot_is_trembl_then_swissprot_in_one_fasta_file(file_server, tmp_path):
    trembl = b">tr|A0A023GPI8|LECA_CANBL Lectin alpha chain OS=Canavalia\nADTIVAVELDTYPNTDIGDPSYPHIGIDIKSVRSK\n"
    sprot = b">sp|P69905|HBA_HUMAN Hemoglobin subunit alpha OS=Homo sapiens\nMVLSPADKTNVKAAWGKVGAHAGEYGAEALERMF\n"
    file_server.files["/uniprot_trembl.fasta.gz"] = gzip.compress(trembl)
    file_server.files["/uniprot_sprot.fasta.gz"] = gzip.compress(sprot)
    path = tmp_path / "databases" / "uniprot" / "uniprot.fasta"
    item, directory = database_item("uniprot", path)
    assert [source.file_name for source in item.sources] == ["uniprot_trembl.fasta.gz", "uniprot_sprot.fasta.gz"]
    install_item(item, directory, mirror=file_server.url(""), **FAST)
    assert path.read_bytes() == trembl + sprot
    assert check_item(item, directory).state == INSTALLED
    assert check_database("uniprot", "fasta", path) == []


def test_complexes_add_uniprot_and_pdb_seqres_to_what_is_needed(tmp_path):
    (tmp_path / "in.fasta").write_text(">hb\nVLSPADKTNVKAAWGKVGAHAG:VHLTPEEKSAVTALWGKVNVDE\n")
    plan, problems = _plan(inputs=[str(tmp_path / "in.fasta")], databases={"dir": "/data/af2"})
    assert problems == [] and {"uniprot", "pdb_seqres"} <= set(plan)
    assert str(plan["uniprot"].path) == "/data/af2/uniprot/uniprot.fasta"
    assert str(plan["pdb_seqres"].path) == "/data/af2/pdb_seqres/pdb_seqres.txt"
    mmseqs, problems = _plan(inputs=[str(tmp_path / "in.fasta")], databases={"dir": "/data/af2", "preset": "colabfold"},
                             templates={"enabled": False})
    assert "uniprot" not in mmseqs and problems == [
        ("config key 'databases.uniprot_mmseqs': the catalog lists no download for database 'uniprot_mmseqs'; install "
        "it yourself at /data/af2/uniprot/uniprot_mmseqs_db")]


def test_check_install_names_uniprot_and_pdb_seqres_for_a_batch_with_complexes(tmp_path, capsys):
    (tmp_path / "in.fasta").write_text(">hb\nVLSPADKTNVKAAWGKVGAHAG:VHLTPEEKSAVTALWGKVNVDE\n")
    config = tmp_path / "config.yaml"
    config.write_text(f"inputs: [{tmp_path / 'in.fasta'}]\ndatabases: {{dir: {tmp_path / 'db'}}}\n")
    assert snakefold_main(["check-install", "--configfile", str(config)]) != 0
    output = capsys.readouterr().out
    assert f"database 'uniprot' at {tmp_path / 'db/uniprot/uniprot.fasta'} (databases.uniprot): missing" in output
    assert f"database 'pdb_seqres' at {tmp_path / 'db/pdb_seqres/pdb_seqres.txt'} (databases.pdb_seqres): missing" \
        in output
