"""Real attention: the checks on a pretrained transformer (all-MiniLM-L6-v2).

Skipped, with the reason, when the real-model extra is not installed (``make real``).  The forward
pass is checked against a reference implementation we did not write (transformers on torch's CPU
build, the ``reference`` extra), skipped with its own reason when that is missing.
"""

import importlib.util
import math

import numpy as np
import pytest

from theorem.claims.ledger import Evidence, Profile
from theorem.real.model import unavailable_reason

REASON = unavailable_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

REFERENCE_MISSING = [m for m in ("torch", "transformers") if importlib.util.find_spec(m) is None]

SENTENCES = [
    "We hold these truths to be self-evident, that all men are created equal.",
    "Four score and seven years ago our fathers brought forth on this continent, a new nation.",
    "The world will little note, nor long remember what we say here.",
]


@pytest.fixture(scope="module")
def model():
    from theorem.real.model import load_model

    return load_model()


@pytest.fixture(scope="module")
def text():
    from theorem.real.text import load_text

    return load_text("declaration")


@pytest.mark.skipif(bool(REFERENCE_MISSING), reason=f"reference extra not installed (missing: {', '.join(REFERENCE_MISSING)}); "
                    "pip install -e '.[reference]'")
def test_forward_pass_matches_the_transformers_reference(model, text):
    import torch
    from transformers import BertModel

    from theorem.real.model import model_dir
    from theorem.real.text import window

    ref = BertModel.from_pretrained(str(model_dir()), attn_implementation="eager").double().eval()
    inputs = [model.encode(SENTENCES[0]), window(model, text, 128)]
    for ids in inputs:
        ours = model.trace(ids)
        with torch.no_grad():
            out = ref(torch.tensor(ids[None]), output_attentions=True, output_hidden_states=True)
        assert np.max(np.abs(out.last_hidden_state[0].numpy() - ours.hidden)) < 1e-5
        attn = np.stack([a[0].numpy() for a in out.attentions])
        assert np.max(np.abs(attn - ours.weights)) < 1e-5
        hidden = np.stack([h[0].numpy() for h in out.hidden_states[:-1]])
        assert np.max(np.abs(hidden - ours.inputs)) < 1e-5


def test_tokenizer_wraps_cls_and_sep_and_matches_the_shipped_vocabulary(model):
    ids = model.encode(SENTENCES[0])
    toks = model.tokens(ids)
    assert toks[0] == "[CLS]" and toks[-1] == "[SEP]"
    assert toks[1:5] == ("we", "hold", "these", "truths")


def test_windows_cut_long_text_and_reject_too_long_inputs(model, text):
    from theorem.real.text import windows

    assert model.text_ids(text).size > model.config.max_len  # the shipped text needs windows
    wins = windows(model, text, 512)
    assert len(wins) >= 3 and all(w.size == 512 for w in wins)
    assert all(w[0] == model.cls_id and w[-1] == model.sep_id for w in wins)
    with pytest.raises(ValueError, match="maximum 512"):
        model.encode(text)
    with pytest.raises(ValueError, match="3..512"):
        windows(model, text, 513)


def test_layer_and_head_out_of_range_name_the_valid_range(model):
    with pytest.raises(ValueError, match=r"layer: must be an integer in 0\.\.5"):
        model.head(6, 0)
    with pytest.raises(ValueError, match=r"head: must be an integer in 0\.\.11"):
        model.head(0, 12)


def test_every_attention_input_has_ones_in_its_column_space(model, text):
    """Post-LN: X = Z diag γ + 1βᵀ with Z 1 = 0, so 1 ∈ col X and the biases add no rank."""
    from theorem.numeric.predicted import Subspace
    from theorem.real.text import window

    hidden = model.hidden_states(window(model, text, 400), upto=model.config.layers - 1)
    for x in hidden:
        sp = Subspace.column_space(np.asarray(x))
        assert sp.rank.status == "ok" and sp.dim == model.config.d
        assert sp.contains(np.ones(400)) is True
    assert len(hidden) == model.config.layers


def test_pulled_back_rank_of_a_real_head_equals_the_closed_form():
    """n < d and n > d: r̃·k₁ + q₁·r̃ − q₁·k₁ (scores), minus q₁ after softmax (the key bias).

    The same measurements the ledger uses (layer 1, head 5, one varied coordinate, n = 40 and 400).
    """
    from theorem.claims.real_evidence import real_measurements

    pulls = real_measurements("quick")["pullback"]
    assert {p["n"] for p in pulls} == {40, 400}
    for rec in pulls:
        assert rec["status"] == "ok", rec
        assert rec["measured"] == rec["predicted"]
        r = min(rec["n"], rec["d"])  # rank [X, 1] = rank X: LayerNorm put 1 in col X
        assert rec["invariants"]["r"] == rec["invariants"]["rank_X"] == r
        assert rec["predicted"] == 2 * r - 1 - 1  # 2r̃k₁ − k₁², minus q₁ = 1 after softmax
        assert rec["invariants"]["image_dim"] == 2 * r - 1  # the scores map, before the kernel
        assert rec["measured"] < rec["d_squared"]


def test_rank_bound_and_matching_on_real_queries_and_keys(model, text):
    from theorem.real.analysis import matching_record, rank_record
    from theorem.real.text import window

    tr = model.trace(window(model, text, 128), layers=2)
    for head in (0, 7):
        a, s = tr.weights[1, head], tr.scores[1, head]
        rk = rank_record(a, s)
        eps = [rk["eps_rank"][k] for k in ("0.1", "0.01", "0.001", "1e-06")]
        assert eps == sorted(eps) and eps[-1] <= 128
        for e, measured in rk["eps_rank"].items():  # measured ε-rank ≤ the Taylor bound min(n, C(r+p, p))
            assert measured <= rk["eps_rank_bound"][e]
        if rk["rank_status"] == "ok":
            assert rk["rank"] == rk["predicted_rank"] == 128
        assert rk["sqrt_log_n"] == pytest.approx(math.sqrt(math.log(128)))
        m = matching_record(tr.q[1, head], tr.k[1, head], a, queries=8)
        assert m["softmax"]["a"]["reversed"] == m["softmax"]["a"]["predicted_reversed"] == 0
        assert m["softmax"]["b"]["reversed"] == m["softmax"]["b"]["predicted_reversed"]
        assert m["csq"]["a"]["reversed"] == m["csq"]["a"]["predicted_reversed"]


def test_csq_and_poly2_fits_improve_on_their_start(model, text):
    from theorem.real.fit import fit_pattern
    from theorem.real.text import window

    tr = model.trace(window(model, text, 32), layers=1)
    hp = model.head(0, 3)
    for kern in ("csq", "poly2"):
        res = fit_pattern(tr.inputs[0], tr.weights[0, 3], hp.w_q, hp.b_q, hp.w_k, hp.b_k, kern, steps=40)
        assert 0.0 <= res.tv <= 1.0
        assert res.kl <= res.history[0] + 1e-12  # the best loss is never worse than the start
    soft = fit_pattern(tr.inputs[0], tr.weights[0, 3], hp.w_q, hp.b_q, hp.w_k, hp.b_k, "softmax", steps=0)
    assert soft.tv < 1e-12  # the softmax class contains the real head


def test_cli_runs_on_the_shipped_text_and_rejects_bad_ranges(capsys):
    import json

    from theorem.real_cli import main

    assert main(["--layer", "0", "--head", "0,1", "--n", "40", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(r["layer"], r["head"], r["n"]) for r in out["records"]] == [(0, 0, 40), (0, 1, 40)]
    with pytest.raises(ValueError, match=r"valid layers are 0\.\.5"):
        main(["--layer", "6"])
    with pytest.raises(ValueError, match=r"valid heads are 0\.\.11"):
        main(["--head", "12"])
    with pytest.raises(ValueError, match="3..512"):
        main(["--n", "600"])


def test_ledger_evidence_carries_measured_beside_predicted():
    from theorem.claims import real_evidence

    quick = Profile("quick")
    t1 = real_evidence.t1_evidence(quick)
    assert all(isinstance(e, Evidence) for e in t1)
    for row in t1[0].data["measurements"]:
        assert row["measured"] == row["predicted"]
    assert t1[0].data["agrees"] is True and t1[1].supports is False and t1[2].supports is True
    for name, fn in real_evidence.ALL_EVIDENCE.items():
        ev = fn(quick)
        assert ev and all(isinstance(e, Evidence) and e.summary for e in ev), name
    t4 = real_evidence.t4_evidence(quick)
    assert t4[0].supports is True  # softmax is monotone on real queries/keys
    assert t4[1].data["reversed"] == t4[1].data["predicted"]
