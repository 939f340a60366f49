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


def test_rate_summary_prints_cpu_second_fractions_and_the_gradient_ratio_beside_its_count():
    rc = _check(0.9, 0.75)
    rc.update({"cpu_seconds": {"matmul": [0.3], "csq-linear": [0.9, 0.8]},
               "state_emit_fraction_cpu": 0.71, "state_emit_fraction_causal_cpu": 0.55,
               "grad_ratio": {"wall": 2.9, "cpu": 3.2, "counted": {"matmul": 3.0, "total": 3.02}},
               "grad_ratio_causal": {"wall": 3.0, "cpu": 4.1, "counted": {"matmul": 3.53, "total": 3.55}}})
    text = rate_summary(rc, [1.0, 1.0, 1.0])
    lines = [" ".join(x.split()) for x in " ".join(text.splitlines()).split("[")]
    assert any(x.startswith("met] non-causal: state + emit ≥ 70% of the matmul's FLOP rate (per CPU-second): 0.71")
               for x in lines)
    assert any(x.startswith("NOT met] causal: state + emit ≥ 70% of the matmul's FLOP rate (per CPU-second): 0.55")
               for x in lines)
    assert any(x.startswith("met] non-causal: jax.grad ≤ 3× the forward (wall): 2.90×") for x in lines)
    assert any(x.startswith("NOT met] non-causal: jax.grad ≤ 3× the forward (cpu): 3.20×") for x in lines)
    assert any(x.startswith("met] causal: jax.grad ≤ 3× the forward (wall): 3.00×") for x in lines)  # the boundary
    assert "products 3.53×, all 3.55×" in " ".join(text.split())
    assert "csq-linear 0.800" in " ".join(text.split())  # the best CPU seconds
    assert all(len(x) <= WIDTH for x in text.splitlines())
