"""JUnit XML of regression verdicts, for CI systems that show test results (GitHub, GitLab, Jenkins).

One ``<testsuite>`` per regression target and one ``<testcase>`` per check (``classname`` =
``regression.<target>``, ``name`` = ``<metric> [<subject>]``); a failed check carries ``<failure>`` with its
message, naming the target and the metric. Written with :mod:`xml.etree.ElementTree`, which escapes text.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from typing import Sequence


def junit_xml(verdicts: Sequence[dict]) -> str:
    checks = [check for verdict in verdicts for check in verdict["checks"]]
    failures = sum(not check["passed"] for check in checks)
    root = ElementTree.Element("testsuites", name="snakefold regression", tests=str(len(checks)),
                               failures=str(failures), errors="0")
    for verdict in verdicts:
        suite_failures = sum(not check["passed"] for check in verdict["checks"])
        suite = ElementTree.SubElement(root, "testsuite", name=f"regression.{verdict['target']}",
                                       tests=str(len(verdict["checks"])), failures=str(suite_failures),
                                       errors="0", skipped="0")
        for check in verdict["checks"]:
            case = ElementTree.SubElement(suite, "testcase", classname=f"regression.{verdict['target']}",
                                          name=f"{check['metric']} [{check['subject']}]", time="0")
            if check["passed"]:
                ElementTree.SubElement(case, "system-out").text = check["message"]
            else:
                failure = ElementTree.SubElement(case, "failure", message=check["message"],
                                                 type=f"regression.{check['metric']}")
                failure.text = check["message"]
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"
