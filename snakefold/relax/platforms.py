"""Choosing the OpenMM platform that runs the minimisation: CUDA, OpenCL or CPU.

``auto`` tries CUDA, then OpenCL, then CPU, and takes the first on which a context can actually be created
(a plugin can be installed while no device or driver is usable); the reasons the faster ones were passed
over are kept for the log and the metrics JSON. A platform named explicitly must work, or the error lists
the platforms this OpenMM has. GPU platforms run in mixed precision, CUDA with deterministic force sums;
the CPU platform uses ``threads`` threads (the rule's ``threads:``). The CPU platform's sums depend on the
thread count and on thread timing: only one thread (the relax stage's default) gives the same relaxed
structure on every run, which is what makes a resumed run's outputs equal an uninterrupted run's.
"""

from __future__ import annotations

import dataclasses

import openmm

from snakefold.common.errors import SnakefoldError

#: Platforms in the order ``auto`` tries them: fastest first.
PLATFORM_PREFERENCE: tuple[str, ...] = ("CUDA", "OpenCL", "CPU")


@dataclasses.dataclass(frozen=True)
class PlatformChoice:
    """The platform to run on, its properties, and why it was chosen."""

    platform: openmm.Platform
    properties: dict[str, str]
    requested: str
    passed_over: tuple[str, ...]  # "CUDA: <reason>" for each faster platform that did not work

    @property
    def name(self) -> str:
        return self.platform.getName()

    def describe(self) -> str:
        if self.requested != "auto":
            return f"platform {self.name} (as configured)"
        reasons = "; ".join(self.passed_over)
        return f"platform {self.name} (auto" + (f"; not available: {reasons})" if reasons else ")")


def _properties(name: str, threads: int | None) -> dict[str, str]:
    if name == "CPU":
        return {"Threads": str(threads)} if threads else {}
    if name == "CUDA":
        return {"Precision": "mixed", "DeterministicForces": "true"}
    return {"Precision": "mixed"}


def _try_platform(name: str, threads: int | None) -> tuple[openmm.Platform | None, dict[str, str], str]:
    """(platform, properties, '') when a context can be created on ``name``, else (None, {}, reason)."""
    try:
        platform = openmm.Platform.getPlatformByName(name)
    except Exception:
        return None, {}, "not installed in this OpenMM"
    properties = _properties(name, threads)
    system = openmm.System()
    system.addParticle(1.0)
    try:
        context = openmm.Context(system, openmm.VerletIntegrator(0.001), platform, properties)
    except Exception as error:
        return None, {}, str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    del context
    return platform, properties, ""


def choose_platform(requested: str, threads: int | None = None) -> PlatformChoice:
    """The OpenMM platform for ``requested`` (``auto``, ``CUDA``, ``OpenCL`` or ``CPU``)."""
    if requested != "auto" and requested not in PLATFORM_PREFERENCE:
        raise SnakefoldError(f"config key 'relax.platform': unknown platform {requested!r}; "
                             f"choose auto, {', '.join(PLATFORM_PREFERENCE)}")
    candidates = PLATFORM_PREFERENCE if requested == "auto" else (requested,)
    passed_over = []
    for name in candidates:
        platform, properties, reason = _try_platform(name, threads)
        if platform is not None:
            return PlatformChoice(platform, properties, requested, tuple(passed_over))
        passed_over.append(f"{name}: {reason}")
    installed = [openmm.Platform.getPlatform(index).getName() for index in range(openmm.Platform.getNumPlatforms())]
    raise SnakefoldError(f"config key 'relax.platform': OpenMM platform {requested!r} cannot be used "
                         f"({'; '.join(passed_over)}); installed platforms: {', '.join(installed)}. "
                         f"Set relax.platform to auto or CPU.")
