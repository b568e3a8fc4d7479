"""Whether a snakemake command line asks for the download targets only (``snakemake download``).

When it does, the other stages' checks of their parameter and database paths must not stop the run: those
files are what is being downloaded. ``workflow/rules/common.smk`` reads :func:`only_download_targets` of
its own command line into ``DOWNLOAD_ONLY``. Kept apart from :mod:`snakefold.cli.download` so that every
Snakefile parse imports only this.
"""

from __future__ import annotations

from typing import Iterable

#: The rules of workflow/rules/download.smk: the target `download` and one rule per kind of item.
DOWNLOAD_RULE_PREFIX = "download_"


def only_download_targets(argv: Iterable[str]) -> bool:
    """Does this snakemake command line ask for download rules only?

    Read with snakemake's own argument parser: the targets and, in a job's own process, the rules of
    ``--target-jobs``. A command line it cannot read counts as not download-only, so the checks stay on.
    """
    from snakemake.cli import get_argument_parser

    try:
        args, _ = get_argument_parser().parse_known_args(list(argv))
    except SystemExit:
        return False
    names = [str(target) for target in args.targets]
    names += [spec.rulename for spec in (args.target_jobs or ())]
    return bool(names) and all(name == "download" or name.startswith(DOWNLOAD_RULE_PREFIX) for name in names)
