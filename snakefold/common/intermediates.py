"""Reading the files one job writes for another (scores, model outputs, features): a damaged one is removed.

A truncated, bit-flipped or hand-edited intermediate file must not give a traceback, nor the same failure at
every later run. The readers here load the whole file at once; when it cannot be read they remove it and
raise a :class:`SnakefoldError` that names it and says what happens next: the workflow sees the file
missing and runs the job that writes it again. A file that does not exist is only reported.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from snakefold.common.errors import SnakefoldError

RECOMPUTE = "it was removed: run snakemake again and the job that writes it runs again"


def _damaged(path: Path, what: str, error: Exception) -> SnakefoldError:
    path.unlink(missing_ok=True)
    return SnakefoldError(f"{path} ({what}) is damaged ({type(error).__name__}: {error}); {RECOMPUTE}")


def read_intermediate_json(path: str | Path, what: str) -> Any:
    """The JSON document of ``path``, which a job wrote (``what`` names it in messages)."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SnakefoldError(f"{path} ({what}) is missing") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise _damaged(path, what, error) from None


def read_intermediate_npz(path: str | Path, what: str) -> dict[str, np.ndarray]:
    """Every array of the npz file ``path`` (loaded now, so that damage anywhere in it shows here)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise SnakefoldError(f"{path} ({what}) is missing") from None
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        raise _damaged(path, what, error) from None
