"""Success rates: the share of runs whose final value of one metric passes a threshold.

    rule = SuccessRule.parse("modes_covered>=500")   # also <=, >, <; NAME without a slash is val/NAME
    rule.passes(run)                                # a missing or non-finite final value fails
    success_table(groups, labels, rule)             # markdown: one row per group of runs

For stability studies (a sweep over settings, the share of runs that train): `src/report.py
--success modes_covered>=500 --aggregate optim.critic.lr,n_critic` groups runs over the swept
keys and gives each group's share.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass

from ganarena.errors import ArenaError
from ganarena.report.runs import Run
from ganarena.report.summary import Group, summarize
from ganarena.report.tables import code, markdown, number

COMPARISONS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}
_RULE = re.compile(r"^\s*([^<>=\s]+)\s*(>=|<=|>|<)\s*([-+0-9.eE]+)\s*$")


@dataclass(frozen=True)
class SuccessRule:
    column: str
    comparison: str
    threshold: float

    @classmethod
    def parse(cls, text: str) -> SuccessRule:
        match = _RULE.match(text)
        if match is None:
            raise ArenaError(
                f"--success {text!r}: write METRIC OP NUMBER with OP one of >=, <=, >, <, e.g. modes_covered>=500"
            )
        name, comparison, threshold = match.groups()
        try:
            value = float(threshold)
        except ValueError:
            raise ArenaError(f"--success {text!r}: {threshold!r} is not a number") from None
        return cls(name if "/" in name else f"val/{name}", comparison, value)

    def __str__(self) -> str:
        return f"final {self.column.removeprefix('val/')} {self.comparison} {number(self.threshold)}"

    def passes(self, run: Run) -> bool:
        if self.column not in run.curves:
            return False
        final = summarize(run.curves[self.column], self.column).final.value
        return math.isfinite(final) and COMPARISONS[self.comparison](final, self.threshold)


def success_table(groups: list[Group], labels: list[str], rule: SuccessRule) -> str:
    rows = []
    for group, label in zip(groups, labels, strict=True):
        passed = sum(rule.passes(run) for run in group.runs)
        rows.append([code(label), f"{passed}/{len(group.runs)}", f"{100 * passed / len(group.runs):.0f} %"])
    return markdown(["overrides", "succeeded", "share"], rows)
