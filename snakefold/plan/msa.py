"""Which MSA searches a run makes, from the ``msa`` and ``databases`` config sections, and their cache keys.

A **search** is one tool run per query: a name (``uniref90``, ``bfd_uniref30``, ...; the cache directory
``<cache_dir>/msa/<name>/`` and the rule ``msa_<name>``), a tool, the databases it reads in that one run,
and the most rows kept of its MSA. The preset (``databases.preset``) lists its searches in AlphaFold2's
merge order; ``msa.mode`` keeps all of them (``preset``), those of one tool, or none (``precomputed``:
``<precomputed_dir>/<target>.a3m`` or ``.sto`` for a single chain, AlphaFold2's own ``msas/`` directory
``<precomputed_dir>/<complex>/msas/`` for a complex; ``single_sequence``).

The **pairing search** is AlphaFold-Multimer's extra search of each distinct chain of a heteromeric complex
against UniProt, whose hits are paired across chains by species: jackhmmer (search ``uniprot``, the
Stockholm file AlphaFold2 calls ``uniprot_hits.sto``, the same jackhmmer flags as its other searches, the
first 50,000 rows kept), or its MMseqs2 equivalent (search ``uniprot_mmseqs``: the MMseqs2 search flags, no
hit filtered away by ``result2msa``, each hit's full UniProt header kept). It uses mmseqs2 when ``msa.mode`` is mmseqs2 or, in mode ``preset``,
when the preset says so (colabfold); jackhmmer otherwise (hhblits searches no UniProt sequences). It is
planned only for a batch that needs it, so that a batch of single chains needs no UniProt database.

The cache key of a search's result is made of the query sequence, the tool and its version, each
database's name, format and fingerprint (:func:`snakefold.install.databases.fingerprint`), the tool's
options that change the result (its flags, the row limit) and :data:`FORMAT_VERSION`; threads, memory and
timeouts are not part of it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Mapping

from snakefold.common.errors import SnakefoldError
from snakefold.install import databases
from snakefold.tools import hhblits, jackhmmer, mmseqs

#: Bumped when the stored result of a search changes for the same inputs (so old entries are not reused).
FORMAT_VERSION = 1
#: What each tool writes: jackhmmer's Stockholm is kept as AlphaFold2 keeps it; the others write a3m.
OUTPUT_FORMATS = {"jackhmmer": "sto", "hhblits": "a3m", "mmseqs2": "a3m"}
#: How each tool reports its version (part of every cache key; a job checks it is still the same).
TOOL_VERSIONS = {"jackhmmer": jackhmmer.version, "hhblits": hhblits.version, "mmseqs2": mmseqs.version}
#: The option groups of each tool's config section that change its result.
RESULT_OPTIONS = {"jackhmmer": ("flags",), "hhblits": ("flags",), "mmseqs2": ("search_flags", "msa_flags")}
#: The option group that replaces one of RESULT_OPTIONS in the pairing search, by tool (result group -> config group).
PAIRING_OPTIONS = {"mmseqs2": {"msa_flags": "pairing_msa_flags"}}
#: Options the pairing search adds, by tool: MMseqs2 keeps each hit's full UniProt header (its species mnemonic).
PAIRING_EXTRA_OPTIONS: dict[str, dict[str, Any]] = {"mmseqs2": {"full_headers": True}}


@dataclasses.dataclass(frozen=True)
class SearchDatabase:
    """One database of a search: its name, format and path (file or prefix)."""

    name: str
    format: str
    path: str
    #: the config key that sets the path (for messages)
    config_key: str


@dataclasses.dataclass(frozen=True)
class ToolSettings:
    """A search tool's options that change its result (threads, memory and time come from resources:)."""

    tool: str
    #: option groups that change the result (jackhmmer/hhblits: flags; mmseqs2: search_flags, msa_flags; the
    #: pairing search of mmseqs2 also full_headers)
    options: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class MsaSearch:
    """One search: its name, tool, databases (searched in one run) and row limit (None: all rows)."""

    name: str
    tool: str
    databases: tuple[SearchDatabase, ...]
    max_hits: int | None
    settings: ToolSettings

    @property
    def output_format(self) -> str:
        return OUTPUT_FORMATS[self.tool]

    def key_parts(self, sequence: str, tool_version: str, fingerprints: list[str]) -> dict[str, Any]:
        """Everything that determines this search's result for ``sequence`` (the cache key's parts)."""
        return {
            "kind": "msa", "format": FORMAT_VERSION, "sequence": sequence, "tool": self.tool,
            "tool_version": tool_version, "max_hits": self.max_hits, "options": self.settings.options,
            "databases": [{"name": database.name, "format": database.format, "fingerprint": fingerprint}
                          for database, fingerprint in zip(self.databases, fingerprints)],
        }

    def fingerprints(self) -> list[str]:
        return [databases.fingerprint(database.format, database.path) for database in self.databases]

    def to_spec(self) -> dict[str, Any]:
        """A JSON-able description for ``snakefold msa --spec``."""
        return dataclasses.asdict(self)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> "MsaSearch":
        return cls(spec["name"], spec["tool"], tuple(SearchDatabase(**database) for database in spec["databases"]),
                   spec["max_hits"], ToolSettings(**spec["settings"]))


@dataclasses.dataclass(repr=False)
class MsaPlan:
    """The searches of a run (empty for precomputed and single_sequence), the pairing search of complexes'
    chains (None when not needed) and the config problems found."""

    mode: str
    preset: str
    searches: list[MsaSearch]
    precomputed_dir: str | None
    problems: list[str]
    pairing: MsaSearch | None = None

    @property
    def all_searches(self) -> list[MsaSearch]:
        """Every search a job may run: the MSA searches, then the pairing search."""
        return self.searches + ([self.pairing] if self.pairing else [])


def tool_settings(msa_section: Mapping[str, Any], tool: str, pairing: bool = False) -> ToolSettings:
    section = msa_section[tool]
    replaced = PAIRING_OPTIONS.get(tool, {}) if pairing else {}
    options: dict[str, Any] = {group: dict(section[replaced.get(group, group)]) for group in RESULT_OPTIONS[tool]}
    return ToolSettings(tool, {**options, **(PAIRING_EXTRA_OPTIONS.get(tool, {}) if pairing else {})})


def pairing_tool(mode: str, preset: str) -> str:
    """The tool of the pairing search: the mode's (jackhmmer, mmseqs2), the preset's in mode preset, else jackhmmer."""
    if mode in databases.pairing_searches():
        return mode
    return databases.presets()[preset]["pairing"] if mode == "preset" else "jackhmmer"


def pairing_search(config: Mapping[str, Any]) -> MsaSearch:
    """The UniProt search of a heteromeric complex's chains (module doc)."""
    msa_section, databases_section = config["msa"], config["databases"]
    tool = pairing_tool(msa_section["mode"], databases_section["preset"])
    entry = databases.pairing_searches()[tool]
    catalog = databases.catalog()
    search_databases = tuple(SearchDatabase(name, catalog[name].format, databases.database_path(databases_section, name),
                                            f"databases.{name}") for name in entry["databases"])
    return MsaSearch(entry["name"], tool, search_databases, msa_section["max_hits"].get(entry["name"]),
                     tool_settings(msa_section, tool, pairing=True))


def _preset_searches(databases_section: Mapping[str, Any]) -> list[tuple[str, str, list[SearchDatabase]]]:
    preset = databases_section["preset"]
    if preset == "custom":
        searches = []
        for index, custom in enumerate(databases_section["custom"]):
            fmt = databases.TOOL_FORMATS[custom["tool"]]
            searches.append((custom["name"], custom["tool"], [
                SearchDatabase(f"{custom['name']}_{number + 1}" if len(custom["databases"]) > 1 else custom["name"],
                               fmt, path, f"databases.custom[{index}].databases[{number}]")
                for number, path in enumerate(custom["databases"])]))
        return searches
    catalog = databases.catalog()
    return [(search["name"], search["tool"], [
        SearchDatabase(name, catalog[name].format, databases.database_path(databases_section, name),
                       f"databases.{name}")
        for name in search["databases"]]) for search in databases.presets()[preset]["msa"]]


def msa_plan(config: Mapping[str, Any], pairing: bool = False) -> MsaPlan:
    """The MSA searches the config asks for, with every config problem found (checked paths come later).

    ``pairing``: the batch has heteromeric complexes, whose chains also get the pairing search (unless the
    mode searches nothing: precomputed, single_sequence)."""
    msa_section = config["msa"]
    databases_section = config["databases"]
    mode, preset = msa_section["mode"], databases_section["preset"]
    problems: list[str] = []
    searches: list[MsaSearch] = []
    if mode == "precomputed":
        if not msa_section["precomputed_dir"]:
            problems.append("config key 'msa.precomputed_dir' must name the directory of <target>.a3m or "
                            "<target>.sto files (and of each complex's AlphaFold2 msas/ directory, "
                            "<complex>/msas/) when msa.mode is 'precomputed'")
        elif not Path(msa_section["precomputed_dir"]).is_dir():
            problems.append(f"config key 'msa.precomputed_dir': the directory '{msa_section['precomputed_dir']}' "
                            "does not exist")
    elif mode != "single_sequence":
        names = set()
        for name, tool, search_databases in _preset_searches(databases_section):
            if name in names:
                problems.append(f"config key 'databases.custom': the search name '{name}' is used twice")
            names.add(name)
            if mode in ("preset", tool):
                searches.append(MsaSearch(name, tool, tuple(search_databases), msa_section["max_hits"].get(name),
                                          tool_settings(msa_section, tool)))
            if tool != "hhblits" and len(search_databases) > 1:
                problems.append(f"config key 'databases.custom': search '{name}' lists {len(search_databases)} "
                                f"databases, but {tool} searches one per run; give each its own search")
        if not searches and mode == "preset":
            problems.append("config key 'databases.custom' lists no MSA search, and databases.preset is 'custom'; "
                            "list the searches there, or choose another preset or msa.mode 'single_sequence'")
        elif not searches:
            offered = sorted({tool for _, tool, _ in _preset_searches(databases_section)})
            problems.append(
                f"config key 'msa.mode' is '{mode}', but databases.preset '{preset}' has no search with that tool "
                f"(it has: {', '.join(offered) or 'none'}); choose another msa.mode or databases.preset")
    paired = pairing_search(config) if pairing and mode not in ("precomputed", "single_sequence") else None
    if paired is not None and paired.name in names:
        problems.append(f"config key 'databases.custom': the search name '{paired.name}' is the UniProt search of "
                        "complexes' chains (pairing by species); give the custom search another name")
    return MsaPlan(mode, preset, searches, msa_section["precomputed_dir"], problems, paired)


def database_problems(plan: MsaPlan, verified_dir: str | Path | None = None) -> list[str]:
    """Every missing or damaged database of the plan's searches, naming its config key."""
    problems = []
    for search in plan.all_searches:
        for database in search.databases:
            for problem in databases.check_database(database.name, database.format, database.path, verified_dir):
                problems.append(f"config key '{database.config_key}' (search '{search.name}', {search.tool}): "
                                f"{problem}; set the key to the database's path, or make one with "
                                f"'snakefold build-db'")
    return problems


def precomputed_msa_file(directory: str | Path, target_name: str) -> Path:
    """``<directory>/<target>.a3m`` or ``.sto``; an error unless exactly one of them exists."""
    found = [Path(directory, f"{target_name}.{suffix}") for suffix in ("a3m", "sto")]
    found = [path for path in found if path.is_file()]
    if not found:
        raise SnakefoldError(f"target '{target_name}': msa.mode is 'precomputed', but neither {target_name}.a3m nor "
                             f"{target_name}.sto is in {directory} (config key 'msa.precomputed_dir')")
    if len(found) > 1:
        raise SnakefoldError(f"target '{target_name}': both {found[0].name} and {found[1].name} are in {directory}; "
                             "keep the one to use")
    return found[0]
