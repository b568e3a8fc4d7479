"""What snakefold takes from Snakemake's internals holds for the installed Snakemake (the rest of the contract,
a finished run's failures, is read in a real run: tests/report/test_summary.py)."""

from __future__ import annotations

import inspect

import snakemake.common
import snakemake.resources

from snakefold.common.snakemake_internals import (
    PARAMETERS_ATTRIBUTE,
    job_function,
    job_functions,
    resource_parameters_once,
)


@job_functions
class _Stage:
    def inputs(self, wildcards, attempt):
        return [wildcards, attempt]

    def _helper(self):
        return None


def test_snakemake_reads_a_job_function_s_parameters_from_the_attribute(monkeypatch):
    assert PARAMETERS_ATTRIBUTE == snakemake.common.FUNC_OVERWRITE_PARAMS_ATTR

    def request(wildcards, attempt):
        return attempt

    job_function(request)
    stage = _Stage()
    monkeypatch.setattr(inspect, "signature", lambda function: (_ for _ in ()).throw(AssertionError(function)))
    for function in (request, stage.inputs):  # a function, and a bound method of a decorated class
        assert snakemake.common.get_input_function_aux_params(
            function, {"attempt": 2, "input": [], "threads": 1}) == {"attempt": 2}
    assert not hasattr(_Stage._helper, PARAMETERS_ATTRIBUTE)


def test_snakemake_s_resource_evaluation_keeps_its_own_parameters():
    resource_parameters_once()
    evaluate = snakemake.resources.Resource.evaluate
    assert getattr(evaluate, PARAMETERS_ATTRIBUTE) == inspect.signature(evaluate).parameters
    resource = snakemake.resources.Resource("mem_mb", lambda wildcards, attempt: 100 * attempt)
    assert resource.evaluate(None, attempt=3, input=[], threads=1).value == 300
