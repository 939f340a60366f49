"""The audit of every claim rule: each verdict its code can return is driven by a test on synthetic evidence.

* The static reading of a rule's verdicts, against rules whose verdicts are known.
* The meta-test (slow: it runs every ``tests/test_rules_*.py`` file once more) loads
  :mod:`tests.rules_audit_plugin`, which records the verdict every rule returned inside a test, and fails
  when a rule outside :data:`OWNED_ELSEWHERE` has a verdict its code names that no test drove it to.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import rules_audit_plugin as plugin  # tests/rules_audit_plugin.py (pytest puts tests/ on the path)

from theorem.claims import t5_landscape as t5
from theorem.claims.ledger import Verdict

ROOT = Path(__file__).resolve().parent.parent

# rules exempt from the meta-test (none: every rule's tests now drive it to each verdict its code names)
OWNED_ELSEWHERE: set[str] = set()


# --- the static reading of a rule's verdicts (the plugin's), against hand-written rules --------------
def test_static_verdicts_follow_helpers():
    names = {v.value for v in Verdict}
    assert plugin.static_verdicts(t5.rule_landscape) == {"fails", "holds", "open"}
    assert plugin.static_verdicts(t5.rule_function_class) == {"fails", "holds", "open"}
    assert plugin.static_verdicts(len) == set() and plugin.static_verdicts(t5.rule_landscape) <= names


# --- the meta-test --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_every_rule_is_driven_to_every_verdict_its_code_names(tmp_path):
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_rules_*.py")
                   if p.name != Path(__file__).name)
    out = tmp_path / "audit.json"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tests.rules_audit_plugin",
                           "-p", "no:cacheprovider", *files], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "RULES_AUDIT_JSON": str(out)}, check=False)
    rows = json.loads(out.read_text())
    assert len(rows) >= 40, proc.stdout[-2000:]  # every reading's rule was enumerated
    gaps = {r["rule"]: r["missing"] for r in rows if r["missing"] and r["rule"] not in OWNED_ELSEWHERE}
    assert not gaps, f"rules with a verdict no test drives: {gaps}"
