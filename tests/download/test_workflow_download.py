"""`snakemake download` for real against the local server, then `snakefold check-install` on the result."""

from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
from pathlib import Path

import yaml

from snakefold.install.manifest import DEFAULT_MANIFEST, load_manifest
from tests.download.conftest import params_members, tar_bytes
from tests.workflow.conftest import job_counts, run_snakemake, write_config

SET = "alphafold_params_2022-12-06"
SNAKEFOLD = Path(sys.executable).parent / "snakefold"
QUERY = ">query\nMKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEK\n"
#: Only the parameters: no MSA search, no template search.
NO_DATABASES = {"msa": {"mode": "single_sequence"}, "templates": {"enabled": False}}


def _site_manifest(path: Path, archive: bytes) -> Path:
    """The repository's manifest with the size and SHA-256 of the test archive, as a site would keep its own."""
    manifest = yaml.safe_load(DEFAULT_MANIFEST.read_text())
    source = manifest["parameter_sets"][SET]["sources"][0]
    source.update(size=len(archive), sha256=hashlib.sha256(archive).hexdigest())
    path.write_text(yaml.safe_dump(manifest))
    return path


def _check_install(workdir: Path, config: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SNAKEFOLD), "check-install", "--configfile", str(config), *options],
                          cwd=workdir, capture_output=True, text=True, timeout=120)


def test_snakemake_download_installs_the_parameter_set_once(file_server, tmp_path):
    item = load_manifest()[SET]
    archive = tar_bytes(params_members(item.files))
    file_server.files["/mirror/params.tar"] = archive
    (tmp_path / "query.fasta").write_text(QUERY)
    config = write_config(tmp_path, {
        "inputs": ["query.fasta"], **NO_DATABASES,
        "download": {"manifest": str(_site_manifest(tmp_path / "site_manifest.yaml", archive)),
                     "urls": {f"{SET}.tar": file_server.url("/mirror/params.tar")},
                     "retry_wait": 0, "progress_interval": 0.01},
    })
    file_server.drops["/mirror/params.tar"] = 1  # the first connection breaks halfway: the job resumes it

    first = run_snakemake(tmp_path, "download", "--configfile", str(config), "--cores", "2",
                          "--resources", "downloads=1", timeout=300)
    assert first.returncode == 0, first.stderr
    assert job_counts(first.stderr) == {"download_params": 1, "download": 1, "total": 2}
    installed = tmp_path / "models" / SET
    assert {p.name for p in installed.iterdir()} >= set(item.files)
    assert (installed / "params_model_3_ptm.npz").read_bytes() == params_members(item.files)["params_model_3_ptm.npz"]
    requests = file_server.requests_for("/mirror/params.tar")
    assert [r.range for r in requests] == [None, f"bytes={len(archive) // 2}-"]
    log = (tmp_path / "results" / "_logs" / "download" / f"params_{SET}.log").read_text()
    assert "continuing from byte" in log and "SHA-256 matches" in log and "%)" in log

    second = run_snakemake(tmp_path, "download", "--configfile", str(config), "--cores", "2", timeout=300)
    assert second.returncode == 0, second.stderr
    assert "Nothing to be done" in second.stdout + second.stderr
    assert len(file_server.requests) == 2

    check = _check_install(tmp_path, config, "--deep")
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"parameter set '{SET}' at models/{SET} (download.models_dir): installed, intact" in check.stdout

    damaged = installed / "params_model_4.npz"
    damaged.write_bytes(damaged.read_bytes()[:50])
    check = _check_install(tmp_path, config)
    assert check.returncode == 1
    assert "damaged" in check.stdout and "params_model_4.npz has 50 bytes" in check.stdout


def test_snakemake_download_fetches_the_databases_of_the_preset_from_a_mirror(file_server, tmp_path):
    item = load_manifest()[SET]
    fasta = {"uniref90.fasta.gz": b">UniRef90_P1 n=1\nMKTAYIAKQR\n",
             "mgy_clusters_2022_05.fa.gz": b">MGYP000000000001\nMKVLAAGIVG\n",
             "bfd-first_non_consensus_sequences.fasta.gz": b">bfd_1\nMSTNPKPQRK\n"}
    for name, text in fasta.items():
        file_server.files[f"/mirror/{name}"] = gzip.compress(text)
    file_server.files[f"/mirror/{SET}.tar"] = tar_bytes(params_members(item.files))
    (tmp_path / "query.fasta").write_text(QUERY)
    config = write_config(tmp_path, {
        "inputs": ["query.fasta"],
        "databases": {"dir": "dbs", "preset": "reduced_dbs"},
        "templates": {"enabled": False},
        "download": {"mirror": file_server.url("/mirror/"), "retry_wait": 0},
    })
    dry = run_snakemake(tmp_path, "download", "-n", "--configfile", str(config), "--cores", "2", timeout=300)
    assert dry.returncode == 0, dry.stderr
    assert job_counts(dry.stdout) == {"download_database": 3, "download_params": 1, "download": 1, "total": 5}

    run = run_snakemake(tmp_path, "download", "--configfile", str(config), "--cores", "2",
                        "--resources", "downloads=2", timeout=300)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "dbs" / "uniref90" / "uniref90.fasta").read_bytes() == fasta["uniref90.fasta.gz"]
    assert (tmp_path / "dbs" / "small_bfd" / "bfd-first_non_consensus_sequences.fasta").read_bytes() == \
        fasta["bfd-first_non_consensus_sequences.fasta.gz"]
    assert not any(path.name.endswith(".download") for path in (tmp_path / "dbs").iterdir())

    check = _check_install(tmp_path, config)
    assert check.returncode == 0, check.stdout
    assert "database 'mgnify' at dbs/mgnify/mgy_clusters_2022_05.fa (databases.mgnify): installed, intact" \
        in check.stdout

    (tmp_path / "dbs" / "mgnify" / "mgy_clusters_2022_05.fa").write_text("not a FASTA file\n")
    check = _check_install(tmp_path, config)
    assert check.returncode == 1 and "database 'mgnify'" in check.stdout and "damaged" in check.stdout


def test_download_target_ignores_the_other_stages_checks_and_stops_on_its_own(tmp_path):
    """The batch's inputs and the databases do not exist yet: only the download's own problems count."""
    config = write_config(tmp_path, {"inputs": ["not_written_yet.fasta"],
                                     "download": {"params_set": "no_such_set"}})
    refused = run_snakemake(tmp_path, "download", "-n", "--configfile", str(config), "--cores", "1", timeout=300)
    assert refused.returncode != 0
    assert "config key 'download.params_set': 'no_such_set'" in refused.stderr
    assert "not_written_yet.fasta" not in refused.stderr and "databases.uniref90" not in refused.stderr

    config = write_config(tmp_path, {"inputs": ["not_written_yet.fasta"]})
    planned = run_snakemake(tmp_path, "download", "-n", "--configfile", str(config), "--cores", "1", timeout=300)
    assert planned.returncode == 0, planned.stderr
    assert job_counts(planned.stdout)["download_database"] == 7

    everything = run_snakemake(tmp_path, "-n", "--configfile", str(config), "--cores", "1", timeout=300)
    assert everything.returncode != 0 and "not_written_yet.fasta" in everything.stderr
