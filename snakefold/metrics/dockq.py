"""DockQ of a predicted complex against a reference complex, by the DockQ program (Mirabello & Wallner, DockQ v2).

DockQ scores each interface of the reference (a pair of chains with residues in contact) from three numbers:
fnat, the fraction of the reference's residue contacts (heavy atoms within 5 A) that the model keeps; iRMSD, the
backbone RMSD of the interface residues (within 10 A of the other chain) after superposing them; and LRMSD, the
backbone RMSD of the smaller chain (the ligand) after superposing the larger one (the receptor):

    DockQ = (fnat + 1 / (1 + (iRMSD / 1.5)^2) + 1 / (1 + (LRMSD / 8.5)^2)) / 3,   in [0, 1]

(0.23, 0.49 and 0.80 divide incorrect, acceptable, medium and high quality). Model chains are matched to
reference chains by sequence: DockQ tries every mapping between chains of identical sequence and keeps the one
with the highest sum of interface scores, unless a mapping is given. The complex's score is DockQ's
``GlobalDockQ``, the mean of its interfaces' scores under that mapping.

DockQ 2.1.3 declares numpy<2, which snakefold's own numpy excludes, so it lives in a virtual environment of its
own, ``.venv-dockq`` in the repository, that scripts/setup makes from envs/dockq-requirements.txt.
:func:`score_complex` runs its ``DockQ`` command as a subprocess (an argument list; the structure paths are
made absolute so that none reads as an option) and reads the ``--json`` file it writes. The command is
:data:`DEFAULT_DOCKQ`, or the one the environment variable ``SNAKEFOLD_DOCKQ`` names (a path, or a name on
PATH). ``PYTHONPATH`` and ``PYTHONHOME`` are not passed on, so that DockQ's Python never sees snakefold's
packages.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snakefold.common.errors import SnakefoldError

#: The environment variable that names the DockQ command, overriding :data:`DEFAULT_DOCKQ`.
DOCKQ_VARIABLE = "SNAKEFOLD_DOCKQ"
#: The DockQ command of the virtual environment scripts/setup makes in the repository.
DEFAULT_DOCKQ = Path(__file__).resolve().parents[2] / ".venv-dockq" / "bin" / "DockQ"
#: How DockQ gets installed, for the "not installed" message.
INSTALL_HINT = ("run scripts/setup, which makes the virtual environment .venv-dockq from "
                "envs/dockq-requirements.txt (DockQ 2.1.3)")
#: Lines of DockQ's output quoted when it fails.
OUTPUT_TAIL_LINES = 12
#: Environment variables that would point DockQ's Python at other packages (snakefold's numpy 2).
_HIDDEN_VARIABLES = ("PYTHONPATH", "PYTHONHOME")


@dataclass(frozen=True)
class InterfaceDockQ:
    """DockQ of one reference interface: its two reference chains and the model chains mapped onto them."""

    reference_chains: tuple[str, str]
    model_chains: tuple[str, str]
    dockq: float  # in [0, 1]
    fnat: float  # fraction of the reference's contacts kept, in [0, 1]
    irmsd: float  # interface backbone RMSD, Angstrom
    lrmsd: float  # ligand backbone RMSD after superposing the receptor, Angstrom

    def as_json(self) -> dict[str, Any]:
        return {"reference_chains": list(self.reference_chains), "model_chains": list(self.model_chains),
                "dockq": self.dockq, "fnat": self.fnat, "irmsd": self.irmsd, "lrmsd": self.lrmsd}


@dataclass(frozen=True)
class ComplexDockQ:
    """DockQ of a model complex: the mean over the reference's interfaces, the chain mapping and each interface."""

    dockq: float  # DockQ's GlobalDockQ: the mean of ``interfaces``' scores
    chain_mapping: Mapping[str, str]  # reference chain -> model chain
    interfaces: tuple[InterfaceDockQ, ...]

    def as_json(self) -> dict[str, Any]:
        return {"dockq": self.dockq, "chain_mapping": dict(self.chain_mapping),
                "interfaces": [interface.as_json() for interface in self.interfaces]}


def dockq_command() -> str:
    """The absolute path of the DockQ command, or an error saying how to install it."""
    named = os.environ.get(DOCKQ_VARIABLE)
    if named:
        found = shutil.which(named)
        if found is None:
            raise SnakefoldError(f"${DOCKQ_VARIABLE} names the DockQ command '{named}', which is not an executable "
                                 f"file (or a program on PATH); correct it, or unset it and {INSTALL_HINT}")
        return str(Path(found).absolute())
    if shutil.which(DEFAULT_DOCKQ) is None:
        raise SnakefoldError(f"DockQ is not installed: {DEFAULT_DOCKQ} is missing; {INSTALL_HINT}, or set "
                             f"${DOCKQ_VARIABLE} to a DockQ 2.1.3 command")
    return str(DEFAULT_DOCKQ)


def _mapping_argument(chain_mapping: Mapping[str, str]) -> str:
    """DockQ's ``--mapping MODELCHAINS:NATIVECHAINS`` value (one character per chain) of reference -> model."""
    pairs = list(chain_mapping.items())
    if len(pairs) < 2:
        raise SnakefoldError(f"a chain mapping for DockQ needs at least two chains, not {dict(chain_mapping)}")
    for chain in (chain for pair in pairs for chain in pair):
        if len(chain) != 1 or chain in "*:":
            raise SnakefoldError(f"chain ID {chain!r} of the mapping {dict(chain_mapping)} cannot be given to DockQ, "
                                 f"whose --mapping takes one character per chain (not '*' or ':')")
    if len(set(chain_mapping.values())) != len(pairs):
        raise SnakefoldError(f"the chain mapping {dict(chain_mapping)} maps two reference chains onto one model chain")
    return "".join(model for _, model in pairs) + ":" + "".join(reference for reference, _ in pairs)


def _tail(text: str) -> str:
    return "\n".join(text.splitlines()[-OUTPUT_TAIL_LINES:])


def _parse_output(output: Mapping[str, Any], source: str) -> ComplexDockQ:
    """The typed result of DockQ's JSON output (keys GlobalDockQ, best_mapping, best_result)."""
    try:
        chain_mapping = {str(reference): str(model) for reference, model in output["best_mapping"].items()}
        reference_of_model = {model: reference for reference, model in chain_mapping.items()}
        interfaces = []
        for scores in output["best_result"].values():
            model_chains = (str(scores["chain1"]), str(scores["chain2"]))
            interfaces.append(InterfaceDockQ(
                reference_chains=(reference_of_model[model_chains[0]], reference_of_model[model_chains[1]]),
                model_chains=model_chains, dockq=float(scores["DockQ"]), fnat=float(scores["fnat"]),
                irmsd=float(scores["iRMSD"]), lrmsd=float(scores["LRMSD"])))
        return ComplexDockQ(dockq=float(output["GlobalDockQ"]), chain_mapping=chain_mapping,
                            interfaces=tuple(interfaces))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise SnakefoldError(f"{source} lacks or garbles {error}; is the DockQ command DockQ 2.1.3?") from None


def score_complex(model: str | os.PathLike, reference: str | os.PathLike,
                  chain_mapping: Mapping[str, str] | None = None, *, threads: int = 1,
                  timeout: float = 3600.0) -> ComplexDockQ:
    """DockQ of the ``model`` complex against the ``reference`` complex (PDB or mmCIF files, gzip accepted).

    ``chain_mapping`` maps reference chains to model chains (one-character IDs) and limits the scoring to those
    chains; DockQ takes it as given, aligning each model chain to its reference chain by sequence even when the
    sequences differ. When None, DockQ finds the best mapping among chains of identical sequence, and a reference
    chain without such a model chain is an error. ``threads`` is the number of processes DockQ may use to try
    mappings. Raises SnakefoldError when a file is missing, DockQ is not installed (saying how to install it),
    DockQ fails (quoting the end of its output) or runs out of ``timeout`` seconds.
    """
    paths = []
    for role, path in (("model", model), ("reference", reference)):
        path = Path(path).absolute()
        if not path.is_file():
            raise SnakefoldError(f"DockQ: the {role} structure {path} does not exist")
        paths.append(str(path))
    if threads < 1:
        raise SnakefoldError(f"DockQ needs at least one thread, not {threads}")
    mapping = [] if chain_mapping is None else ["--mapping", _mapping_argument(chain_mapping)]
    command = dockq_command()
    environment = {name: value for name, value in os.environ.items() if name not in _HIDDEN_VARIABLES}
    what = f"DockQ ({command}) scoring {paths[0]} against {paths[1]}"
    with tempfile.TemporaryDirectory(prefix="snakefold-dockq-") as scratch:
        json_path = Path(scratch) / "dockq.json"
        argv = [command, "--json", str(json_path), "--n_cpu", str(threads), *mapping, *paths]
        try:
            completed = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=timeout,
                                       env=environment, cwd=scratch)
        except subprocess.TimeoutExpired:
            raise SnakefoldError(f"{what} ran out of time ({timeout:g} s)") from None
        except OSError as error:
            raise SnakefoldError(f"{what} could not start: {error.strerror}; {INSTALL_HINT}") from None
        if completed.returncode != 0:
            raise SnakefoldError(f"{what} failed with exit status {completed.returncode}. The end of its error "
                                 f"output:\n{_tail(completed.stderr)}")
        if not json_path.is_file():
            # DockQ exits with status 0 without writing its JSON for some inputs (e.g. fewer than two chains).
            raise SnakefoldError(f"{what} wrote no result. The end of its output:\n"
                                 f"{_tail(completed.stdout + completed.stderr)}")
        try:
            output = json.loads(json_path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise SnakefoldError(f"{what} wrote a result that is not JSON ({error})") from None
    return _parse_output(output, f"the JSON output of {what}")
