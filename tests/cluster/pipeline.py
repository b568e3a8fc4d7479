"""The real workflow made tiny, for the full-DAG tests (test_pipeline.py, test_kill_trials.py, test_damage.py).

Every stage runs for real, only on small data: a jackhmmer search (one search, named ``uniref90``) on a
FASTA database that ``snakefold build-db`` makes from sequences written here (homologs of ubiquitin and
protein G from tests/data/conftest.py, of villin, and random decoys), features, predictions with small
random parameters of one preset (model_3, no recycling, one length bucket), ranking, OpenMM relaxation of
the best model with a capped minimiser, and the report; the batch's complex, a ubiquitin homodimer, has its
chains' searches shared with ubiquitin's and goes through AlphaFold-Multimer v3's miniature (its parity
fixtures' random parameters, no recycling), relaxation and report_complex. All runs of a test session share one JAX
compilation cache, so the model is compiled once.

:func:`ranked_outputs` reads what a target's results directory says about its predictions (ranking.json,
every ranked model's atoms with coordinates and B-factors) and :func:`checksums_but_timings` its
SHA256SUMS, for comparing two runs; :func:`processes_in` finds processes left running in a working
directory after a run was killed, and :func:`leftovers` the temporary files of atomic writes.
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path

from snakefold.report.summary import read_summary
from tests.cluster.interrupt import finished_records
from tests.conftest import REPO_ROOT
from tests.data.conftest import AMINO_ACIDS, PROTEIN_G, UBIQUITIN, build_db, mutated, write_families
from tests.predict.params import MULTIMER_FIXTURE_PRESET, write_small_multimer_params, write_small_params
from tests.workflow.conftest import run_snakemake, write_config

VILLIN = "MLSDEDFKAVFGMTRSAFANLPLWKQQNLKKEKGLF"
PRESET = "model_3"
MODEL_NAME = f"{PRESET}_seed0"
#: The length buckets: every single chain here (36 to 76 residues) is padded to the first, the ubiquitin
#: homodimer (152) to the second.
LENGTH_BUCKETS = [80, 160]
#: Random sequences added to the database, and jackhmmer's filters turned off (--max, which needs the
#: default F1-F3 left out): every one is scored in full, so a search takes a few seconds, long enough for a
#: test to kill the run while it is under way. The families' homologs are found as with the filters on.
DECOYS = 15000
JACKHMMER_FLAGS = {"max": True, "F1": None, "F2": None, "F3": None}
LOCAL_PROFILE = REPO_ROOT / "workflow" / "profiles" / "local"
#: The complex of the batch and its model run.
COMPLEX = "ubiquitin_dimer"
COMPLEX_MODEL_NAME = f"{MULTIMER_FIXTURE_PRESET}_seed0"
#: The demo's batch without villin: two distinct sequences, ubiquitin under two names (computed once), and a
#: homodimer of ubiquitin (a ':' record).
DEMO_BATCH = (("protein_G_B1", PROTEIN_G), ("ubiquitin", UBIQUITIN), ("ubiquitin_again", UBIQUITIN),
              (COMPLEX, f"{UBIQUITIN}:{UBIQUITIN}"))
TARGETS = [name for name, _ in DEMO_BATCH]
#: The jobs of a run of DEMO_BATCH, by rule: two distinct sequences, each searched, featurised, predicted
#: and relaxed once; a report per target. The homodimer's chains are ubiquitin's (no search of its own);
#: its merged features, prediction, relaxation and report are one job each.
DEMO_BATCH_JOBS = {"intake": 1, "query_fasta": 2, "msa_uniref90": 2, "features": 2, "complex_features": 1,
                   "predict": 3, "relax": 3, "report_target": 3, "report_complex": 1}


@dataclass(frozen=True)
class TinyPipeline:
    """What every run of the module shares: the sequence database, the parameters, the compiled model."""

    database: Path
    params_dir: Path
    compilation_cache: Path


def villin_homologs(count: int = 6, seed: int = 5) -> list[str]:
    """Substitution variants of villin HP36 (60 to 95% identity), seeded."""
    rng = random.Random(seed)
    return [mutated(VILLIN, rng.uniform(0.6, 0.95), rng) for _ in range(count)]


def append_records(path: Path, decoys: int, seed: int = 11) -> None:
    """Append villin's homologs and ``decoys`` random sequences of 60 to 140 residues to the FASTA file ``path``."""
    rng = random.Random(seed)
    with open(path, "a") as handle:
        for index, homolog in enumerate(villin_homologs()):
            handle.write(f">tr|QV{index:04d}X|QV{index:04d}X_CHICK villin homolog {index}\n{homolog}\n")
        for index in range(decoys):
            length = rng.randint(60, 140)
            handle.write(f">decoy_{index} random sequence\n{''.join(rng.choices(AMINO_ACIDS, k=length))}\n")


def make_tiny_pipeline(root: Path) -> TinyPipeline:
    """Build the FASTA database and write model_3's small random parameters under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    source = root / "families.fasta"
    write_families(source)
    append_records(source, DECOYS)
    database = root / "uniref90" / "tiny.fasta"
    build_db("--format", "fasta", "--input", str(source), "--output", str(database))
    params_dir = write_small_multimer_params(write_small_params(root / "params", presets=(PRESET,)))
    return TinyPipeline(database, params_dir, root / "jax")


def write_batch(workdir: Path, records, name: str = "batch.fasta") -> str:
    """Write ``records`` ((name, sequence) pairs) as a FASTA file in ``workdir``; returns its file name."""
    (workdir / name).write_text("".join(f">{target} tiny pipeline test\n{sequence}\n" for target, sequence in records))
    return name


def pipeline_config(tiny: TinyPipeline, inputs: list[str], cache_dir: str | Path = "cache", **sections) -> dict:
    """The config of a run of every stage on the tiny data; ``sections`` replace whole config sections."""
    config = {
        "inputs": inputs,
        "results_dir": "results",
        "cache_dir": str(cache_dir),
        "templates": {"enabled": False},
        "msa": {"mode": "preset", "jackhmmer": {"flags": JACKHMMER_FLAGS}},
        "databases": {"preset": "custom",
                      "custom": [{"name": "uniref90", "tool": "jackhmmer", "databases": [str(tiny.database)]}]},
        "model": {"presets": [PRESET], "num_seeds": 1, "num_recycle": 0, "params_dir": str(tiny.params_dir),
                  "multimer_presets": [MULTIMER_FIXTURE_PRESET], "multimer_num_recycle": 0,
                  "length_buckets": LENGTH_BUCKETS, "compilation_cache_dir": str(tiny.compilation_cache)},
        "relax": {"mode": "best", "platform": "CPU", "max_iterations": 50, "max_outer_iterations": 0},
        # One thread per job: two jobs run side by side on two cores, as on two cluster CPUs; and a
        # relaxation on one OpenMM thread is reproducible (on more, its minimiser's sums vary from run to run).
        "resources": {"stages": {stage: {"threads": 1} for stage in ("msa_jackhmmer", "predict", "relax")}},
    }
    config.update(sections)
    return config


def local_command(config: Path) -> list[str]:
    """The README's local command: `snakemake --profile workflow/profiles/local --configfile my.yaml`."""
    return ["--profile", str(LOCAL_PROFILE), "--configfile", str(config)]


def run_locally(workdir: Path, config: dict, *args: str):
    """Write ``config`` into ``workdir`` and run the whole workflow there through the local profile."""
    return run_snakemake(workdir, *local_command(write_config(workdir, config)), *args)


def pdb_atoms(path: Path) -> list[tuple[str, tuple[float, float, float], float]]:
    """(atom and residue identity, coordinates, B-factor) of every ATOM/HETATM record of a PDB file."""
    atoms = []
    for line in path.read_text().splitlines():
        if line.startswith(("ATOM  ", "HETATM")):
            coordinates = (float(line[30:38]), float(line[38:46]), float(line[46:54]))
            atoms.append((line[12:27], coordinates, float(line[60:66])))
    return atoms


def ranked_outputs(results_dir: Path, target: str) -> dict:
    """A target's ranking.json and the atoms of each of its ranked models."""
    directory = results_dir / target
    return {"ranking": json.loads((directory / "ranking.json").read_text()),
            "structures": {path.name: pdb_atoms(path) for path in sorted(directory.glob("ranked_*.pdb"))}}


def processes_in(directory: Path, timeout: float = 10) -> list[str]:
    """'PID command line' of every process whose working directory is ``directory`` or inside it, once
    none is left or ``timeout`` seconds have passed (killed processes take a moment to go)."""
    directory = directory.resolve()
    deadline = time.monotonic() + timeout
    while True:
        found = []
        for process in Path("/proc").iterdir():
            if not process.name.isdigit():
                continue
            try:
                cwd = Path(os.readlink(process / "cwd"))
                command = (process / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:  # gone, a zombie, or not ours to look at
                continue
            if cwd == directory or directory in cwd.parents:
                found.append(f"{process.name} {command}")
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def assert_same_outputs(workdir: Path, reference: Path, targets=TARGETS) -> None:
    """The ranked outputs of ``targets`` and the batch summary of ``workdir`` are the reference's, exactly."""
    for target in targets:
        assert ranked_outputs(workdir / "results", target) == ranked_outputs(reference / "results", target), target
    assert read_summary(workdir / "results" / "summary.tsv") == read_summary(reference / "results" / "summary.tsv")


#: The batch summary, which the workflow's handlers write again after every run, whatever ran.
REWRITTEN_AFTER_EVERY_RUN = {"results/summary.tsv", "results/summary.html"}


def finished_outputs(workdir: Path) -> dict[str, int]:
    """output -> modification time (ns) of every output whose job Snakemake counts as finished (the batch
    summary aside)."""
    return {name: (workdir / name).stat().st_mtime_ns for name in finished_records(workdir)
            if (workdir / name).is_file() and name not in REWRITTEN_AFTER_EVERY_RUN}


def checksums_but_timings(workdir: Path, target: str) -> list[str]:
    """The lines of a target's SHA256SUMS, but timings.json's (wall times differ from run to run)."""
    lines = (workdir / "results" / target / "SHA256SUMS").read_text().splitlines()
    return [line for line in lines if not line.endswith("  timings.json")]


def leftovers(workdir: Path) -> list[str]:
    """Temporary files and directories of atomic writes and scratch space left under results/ and cache/."""
    return sorted(str(path.relative_to(workdir)) for top in ("results", "cache") for path in (workdir / top).rglob("*")
                  if ".tmp-" in path.name or ".old-" in path.name or path.name.startswith("snakefold-"))
