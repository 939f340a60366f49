"""A pytest plugin that records which verdict each claim rule returned in which test, beside the verdicts the
rule's code can return (``Verdict.X`` in its source and in the claims functions it calls).

``python -m pytest -p tests.rules_audit_plugin tests/test_rules_*.py`` prints the table; with
``RULES_AUDIT_JSON=PATH`` it is also written to PATH.  Used by ``tests/test_rules_audit.py``.

The record is dynamic: a verdict counts as driven only when a rule call inside a test returned it (every
module-level rule function of ``theorem.claims`` is wrapped before collection, so ``from ... import rule_x``
in a test module gets the wrapper too).
"""

from __future__ import annotations

import ast
import functools
import inspect
import json
import os
import re
import textwrap
from collections import defaultdict
from typing import Callable

from theorem.claims.ledger import Outcome
from theorem.claims.registry import CLAIM_IDS, load_claim

CALLS: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))  # rule → verdict → tests
_CURRENT = {"test": None}


def _called_claims_functions(fn: Callable) -> list[Callable]:
    """The module-level functions of ``theorem.claims`` that ``fn``'s source calls by name."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)).strip().rstrip(","))
    except (OSError, TypeError, SyntaxError):
        return []
    mod = inspect.getmodule(fn)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            g = getattr(mod, node.func.id, None)
            if inspect.isfunction(g) and g.__module__.startswith("theorem.claims"):
                out.append(g)
    return out


def static_verdicts(fn: Callable, seen: set | None = None) -> set[str]:
    """Verdict values named in ``fn``'s source or in the claims functions it calls (transitively)."""
    seen = set() if seen is None else seen
    if fn in seen:
        return set()
    seen.add(fn)
    try:
        src = inspect.getsource(fn)
    except (OSError, TypeError):
        return set()
    from theorem.claims.ledger import Verdict  # noqa: PLC0415 (the plugin is loaded before collection)
    out = {Verdict[name].value for name in re.findall(r"Verdict\.([A-Z_]+)", src)}
    for g in _called_claims_functions(fn):
        out |= static_verdicts(g, seen)
    return out


def rule_functions() -> dict[str, tuple[Callable, list[str]]]:
    """``module.function`` → (the function, the reading IDs it decides).  A lambda rule (one parametrized
    rule shared by several readings) is resolved to the claims function it calls."""
    out: dict[str, tuple[Callable, list[str]]] = {}
    for cid in CLAIM_IDS:
        claim, _missing = load_claim(cid)
        for reading in claim.readings:
            fn = reading.rule
            if fn.__name__ == "<lambda>":
                called = _called_claims_functions(fn)
                fn = called[0] if called else fn
            name = f"{fn.__module__}.{fn.__qualname__}"
            out.setdefault(name, (fn, []))[1].append(reading.id)
    return out


def _wrap(name: str, fn: Callable) -> Callable:
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        outcome = fn(*args, **kwargs)
        if isinstance(outcome, Outcome) and _CURRENT["test"] is not None:
            CALLS[name][outcome.verdict.value].add(_CURRENT["test"])
        return outcome
    wrapper.__wrapped_rule__ = fn
    return wrapper


RULES: dict[str, tuple[Callable, list[str]]] = {}


def pytest_configure(config):
    RULES.update(rule_functions())
    for name, (fn, _ids) in RULES.items():
        mod = inspect.getmodule(fn)
        if getattr(mod, fn.__name__, None) is fn:
            setattr(mod, fn.__name__, _wrap(name, fn))


def pytest_runtest_setup(item):
    _CURRENT["test"] = item.nodeid


def pytest_runtest_teardown(item):
    _CURRENT["test"] = None


def table() -> list[dict]:
    """One row per rule function: its readings, the verdicts its code can return, those tests drove it to."""
    rows = []
    for name, (fn, ids) in sorted(RULES.items()):
        reachable = sorted(static_verdicts(fn))
        driven = {v: sorted(t) for v, t in CALLS.get(name, {}).items()}
        rows.append({"rule": name, "readings": ids, "reachable": reachable, "driven": driven,
                     "missing": [v for v in reachable if v not in driven]})
    return rows


def pytest_sessionfinish(session, exitstatus):
    rows = table()
    path = os.environ.get("RULES_AUDIT_JSON")
    if path:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=1)


def pytest_terminal_summary(terminalreporter):
    tr = terminalreporter
    tr.section("rules audit: verdicts each rule can return / was driven to")
    for r in table():
        mark = "ok " if not r["missing"] else "GAP"
        tr.write_line(f"{mark} {r['rule']} ({', '.join(r['readings'][:3])}{'…' if len(r['readings']) > 3 else ''}): "
                      f"can {r['reachable']}, driven {sorted(r['driven'])}"
                      + (f", missing {r['missing']}" if r["missing"] else ""))
