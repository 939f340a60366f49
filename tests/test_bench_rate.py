"""``d2check bench attention --rate``: the printed FLOP-rate check (synthetic results; nothing timed)."""

from __future__ import annotations

from theorem.bench.report_text import WIDTH, rate_summary


def _check(nc: float, causal: float) -> dict:
    return {"n": 32768, "dk": 64, "state_emit_flops": 36.6e9, "matmul_flops_per_second": 50e9,
            "state_emit_fraction": nc, "state_emit_fraction_causal": causal,
            "seconds": {"matmul": [0.5, 0.4], "csq-linear": [1.2, 1.0], "csq-linear-causal": [1.5, 1.3]}}


def test_rate_summary_says_which_target_is_met_with_its_measured_fraction():
    text = rate_summary(_check(0.74, 0.52), [3.0, 2.5, 2.0])
    lines = text.splitlines()
    nc = next(x for x in lines if "non-causal: state + emit" in x)
    ca = next(x for x in lines if "] causal: state + emit" in x)
    assert "[         met]" in nc and nc.rstrip().endswith("0.74")
    assert "[     NOT met]" in ca and ca.rstrip().endswith("0.52")
    assert "74% (non-causal) and 52% (causal)" in " ".join(text.split())
    assert "csq-linear 1.000" in text and "matmul 0.400" in text  # the best call of each program
    assert "[3.0, 2.5, 2.0]" in text  # the load the figures were measured under
    assert all(len(x) <= WIDTH for x in lines)


def test_rate_summary_boundary_is_seventy_percent():
    text = rate_summary(_check(0.7, 0.6999), None)
    assert "[         met] non-causal" in text and "[     NOT met] causal" in text
