"""Summary of `mutmut run` over the security modules of issue 22: kill rate per module.

The modules are `[tool.mutmut] only_mutate` in pyproject.toml: signatures (webhooks at both
ends, partner feed pages), clocks (deadlines), the audit chain and its checkpoints, and
secrets (case numbers and secrets, passwords, encryption at rest). Surviving mutants are
listed: each one is either a missing test or a mutant judged equivalent in
docs/benchmarks.md. `mutmut show NAME` prints one.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

MUTMUT = str(Path(sys.executable).parent / "mutmut")
KILLED = {"killed", "timeout"}  # a mutant that hangs the tests is caught too


def main() -> None:
    out = subprocess.run(
        [MUTMUT, "results", "--all", "true"], capture_output=True, text=True, check=True
    ).stdout
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    survivors = []
    for line in out.splitlines():
        name, _, status = line.strip().partition(": ")
        if not name:
            continue
        module = name.split(".x")[0].split(".xǁ")[0]
        by_module[module][status] += 1
        if status == "survived":
            survivors.append(name)
    print("| module | mutants | killed | survived | no test | not run |")
    print("|---|---|---|---|---|---|")
    total: Counter[str] = Counter()
    for module, counts in sorted(by_module.items()):
        total.update(counts)
        killed = sum(counts[s] for s in KILLED)
        print(
            f"| {module} | {sum(counts.values())} | {killed} | {counts['survived']} "
            f"| {counts['no tests']} | {counts['not checked']} |"
        )
    judged = sum(total.values()) - total["not checked"]
    killed = sum(total[s] for s in KILLED)
    rate = killed / judged if judged else 0.0
    print(f"\nkill rate: {killed}/{judged} = {rate:.1%} ({total['not checked']} not run)")
    for name in survivors:
        print(f"survived: {name}")


if __name__ == "__main__":
    main()
