"""A batch's targets checked together: :func:`load_batch` reads every input, :func:`batch_problem` is what
every target must be, whoever made it (a FASTA record, a sheet's complex, a pulldown pair).

A target is refused when its name is one of the batch's own files, when a chain (the sequence of a single
chain) holds unknown residues alone (AlphaFold2 places no atoms for ``X``), when a chain is shorter than
``min_length`` or the whole longer than ``max_length``, and when its record ID or target name is taken
(names compared without case). The reading rules are :mod:`snakefold.common.fasta`'s.
"""

from __future__ import annotations

from typing import Iterable

from snakefold.common.fasta import Batch, NonstandardPolicy, Problem, Target, expand_inputs, read_records

#: The unknown residue; ``nonstandard_residues`` maps ambiguity codes (and, with ``unknown``, U and O) to it.
UNKNOWN_RESIDUE = "X"
_ONLY_UNKNOWN = ("{what} holds only unknown residues (X, or codes read as X): AlphaFold2 places no atoms for X, "
                 "so there is no structure to predict; give the {whose} sequence")


def load_batch(inputs: Iterable[str], min_length: int, max_length: int,
               nonstandard: NonstandardPolicy = "map", reserved_names: Iterable[str] = ()) -> Batch:
    """Read and validate every input; return the accepted targets and every problem found.

    ``reserved_names`` are the batch's own files beside the target directories (summary.tsv, ...): no
    target may take one (compared without case)."""
    reserved = {name.lower() for name in reserved_names}
    batch = Batch()
    files, problems = expand_inputs(inputs)
    batch.errors.extend(problems)
    by_id: dict[str, Target] = {}
    by_name: dict[str, Target] = {}
    for path in files:
        batch.files.append(path.resolve())
        targets, problems = read_records(path, nonstandard)
        batch.errors.extend(p for p in problems if p.severity == "error")
        batch.warnings.extend(p for p in problems if p.severity == "warning")
        for target in targets:
            problem = batch_problem(target, by_name, min_length, max_length, reserved, by_id)
            if problem is not None:
                batch.errors.append(problem)
                continue
            by_id[target.record_id] = target
            by_name[target.name.lower()] = target
            (batch.complexes if target.is_complex else batch.targets).append(target)
    if not files and not batch.errors:
        batch.errors.append(Problem("config inputs", None, None, "no input FASTA files are configured"))
    batch.errors.sort(key=lambda problem: (problem.path, problem.line or 0))
    return batch


def batch_problem(target: Target, by_name: dict[str, Target], min_length: int, max_length: int,
                  reserved: set[str], by_id: dict[str, Target] | None = None) -> Problem | None:
    """A problem of ``target`` (a chain of X alone, length limits, reserved, duplicate IDs and names) or None.

    ``by_name`` holds the names taken (lower case), ``by_id`` the record IDs taken (None: not a record)."""
    def problem(reason: str) -> Problem:
        return Problem(target.path, target.line, target.record_id, reason)

    if target.name.lower() in reserved:
        return problem(f"the target name '{target.name}' is reserved: it is one of the batch's own files "
                       f"({', '.join(sorted(reserved))}); rename the record")
    residue_problem = _unknown_residues_problem(target) or _length_problem(target, min_length, max_length)
    if residue_problem is not None:
        return problem(residue_problem)
    if by_id is not None and target.record_id in by_id:
        first = by_id[target.record_id]
        return problem(f"duplicate record ID; it is also at {first.path}:{first.line}")
    if target.name.lower() in by_name:
        first = by_name[target.name.lower()]
        return problem(f"the IDs '{first.record_id}' ({first.path}:{first.line}) and '{target.record_id}' "
                       f"both become the target name '{target.name}'; rename one of them")
    return None


def _unknown_residues_problem(target: Target) -> str | None:
    """A chain (the sequence of a single-chain target) of unknown residues alone: AlphaFold2 has no atoms for X."""
    if not target.is_complex:
        return _ONLY_UNKNOWN.format(what="the sequence", whose="protein's") if _only_unknown(target.sequence) else None
    for chain in target.chains:
        if _only_unknown(chain.sequence):
            source = "" if chain.record_id == target.record_id else f" (record '{chain.record_id}')"
            return _ONLY_UNKNOWN.format(what=f"chain {chain.chain_id}{source}", whose="chain's")
    return None


def _only_unknown(sequence: str) -> bool:
    return set(sequence) == {UNKNOWN_RESIDUE}


def _length_problem(target: Target, min_length: int, max_length: int) -> str | None:
    """min_length applies to every chain, max_length to the target's total length."""
    if not target.is_complex:
        length = len(target.sequence)
        if length < min_length:
            return f"the sequence has {length} residues, fewer than min_length ({min_length})"
        if length > max_length:
            return f"the sequence has {length} residues, more than max_length ({max_length})"
        return None
    for chain in target.chains:
        if len(chain.sequence) < min_length:
            source = "" if chain.record_id == target.record_id else f" (record '{chain.record_id}')"
            return (f"chain {chain.chain_id}{source} has {len(chain.sequence)} residues, fewer than min_length "
                    f"({min_length}, which applies to each chain)")
    if target.length > max_length:
        return (f"the complex has {target.length} residues in its {len(target.chains)} chains, more than max_length "
                f"({max_length}, which applies to the complex's total length)")
    return None
