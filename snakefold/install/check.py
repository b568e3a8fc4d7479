"""Whether installed parameter files are usable: present, of the size installed, and readable npz archives.

:func:`param_file_problems` is what the workflow checks before any predict job runs and what
``snakefold check-install`` reports for a parameter set: every ``params_<preset>.npz`` the configured
presets need must exist, match the size recorded at install time, and open as an npz (zip) archive, which a
truncated download does not.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Iterable

from snakefold.common.hashing import file_sha256
from snakefold.install.item import recorded_files
from snakefold.install.manifest import params_file

DOWNLOAD_HINT = "run `snakemake download --configfile <your config>` to install it"


def _npz_problem(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as error:
        return f"{path} is not a readable .npz archive ({error}): it is truncated or damaged"
    if not names or not all(name.endswith(".npy") for name in names):
        return f"{path} is a zip archive but not an .npz file of arrays"
    return None


def param_file_problems(params_dir: str | Path, presets: Iterable[str], *, deep: bool = False) -> list[str]:
    """Problems with the parameter files of ``presets`` in ``params_dir``; an empty list when all are usable.

    Each ``params_<preset>.npz`` must exist, have the size recorded when snakefold installed it (when it
    did), and open as an npz archive; ``deep`` also compares the SHA-256 recorded at install time.
    """
    params_dir = Path(params_dir)
    if not params_dir.is_dir():
        return [f"the parameter directory {params_dir} does not exist; {DOWNLOAD_HINT}"]
    recorded = recorded_files(params_dir)
    problems = []
    for preset in presets:
        path = params_dir / params_file(preset)
        if not path.is_file():
            problems.append(f"{path} (model preset '{preset}') is missing; {DOWNLOAD_HINT}")
            continue
        expected = recorded.get(path.name, {})
        size = path.stat().st_size
        if "size" in expected and size != expected["size"]:
            problems.append(f"{path} (model preset '{preset}') has {size} bytes but {expected['size']} were "
                            f"installed: it is truncated or was replaced. Delete {params_dir} and {DOWNLOAD_HINT}")
            continue
        if deep and "sha256" in expected and file_sha256(path) != expected["sha256"]:
            problems.append(f"{path} (model preset '{preset}') differs from the file installed (SHA-256): it is "
                            f"damaged. Delete {params_dir} and {DOWNLOAD_HINT}")
            continue
        problem = _npz_problem(path)
        if problem is not None:
            problems.append(f"{problem} (model preset '{preset}'); delete {params_dir} and {DOWNLOAD_HINT}")
    return problems
