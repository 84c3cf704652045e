"""Security figures: every term counted at the proof's own size, for old rounds and new ones.

The expected conjectured figure is recomputed here, independently of the Rust core, from the
accounting in ``circuits/solvency/README.md`` (Parameters) and the options and trace length
each winterfell proof carries in its context.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as hs

import stark_por
from stark_por.cli import EXIT_INVALID, EXIT_OK, main
from stark_por.errors import InsufficientSecurity

FIXTURES = Path(__file__).parent / "fixtures" / "rounds" / "v1"
P = 2**64 - 2**32 + 1
# this circuit's log-derivative identity: 36 terms a row whose poles' degrees sum to 48
TERMS_PER_ROW, POLE_DEGREE_PER_ROW, NUMERATOR_DEGREE, TREE_TUPLE = 36, 48, 2, 5


def batch_proofs(data: bytes) -> tuple[int, list[bytes]]:
    """The number of assets and every winterfell proof in a proof file (one, or a round's)."""
    kind = data[10]
    (st_len,) = struct.unpack_from("<I", data, 11)
    st = data[15 : 15 + st_len]
    (rid_len,) = struct.unpack_from("<H", st, 0)
    (k,) = struct.unpack_from("<I", st, 2 + rid_len + 9 + 32)
    pos = 15 + st_len
    if kind == 1:
        (n,) = struct.unpack_from("<I", data, pos)
        return k, [data[pos + 4 : pos + 4 + n]]
    (count,) = struct.unpack_from("<I", data, pos + 1)
    pos += 5
    proofs = []
    for _ in range(count):
        pos += 32 + 24 * k
        (n,) = struct.unpack_from("<I", data, pos)
        proofs.append(data[pos + 4 : pos + 4 + n])
        pos += 4 + n
    assert pos == len(data)
    return k, proofs


def conjectured(proof: bytes, num_assets: int) -> int:
    """The README's conjectured figure for a winterfell proof, from its context."""
    log_n = proof[3]
    (meta,) = struct.unpack_from("<H", proof, 4)
    at = 6 + meta
    at += 1 + proof[at]  # field modulus
    queries, blowup, grinding, ext = proof[at : at + 4]
    n = 2**log_n
    field = ext * math.log2(P)
    query = queries * math.log2(blowup)
    query += grinding if query >= 80 else 0
    deep = field - math.log2((blowup + 1) * (n + 1) + n - 1)
    bus_numerator = (TERMS_PER_ROW * n + num_assets + 1) + (
        NUMERATOR_DEGREE + POLE_DEGREE_PER_ROW * n + num_assets + TREE_TUPLE)
    bus = field - math.log2(bus_numerator)
    union = -math.log2(sum(2.0 ** -t for t in (field, query, deep, bus)))
    return min(math.ceil(union) - 1, 128)  # whole bits strictly below; Blake3-256 caps at 128


@pytest.mark.parametrize("name", ["single-100", "single-128", "batched-100", "batched-128"])
def test_an_old_rounds_figures_are_its_proofs_recomputed(name):
    path = FIXTURES / f"{name}.stpor"
    k, proofs = batch_proofs(path.read_bytes())
    st = stark_por.verify(path)
    # a round carries its weakest batch's figure
    assert st.security_bits == min(conjectured(p, k) for p in proofs)
    assert st.security_bits == (103 if name.endswith("100") else 128)
    assert 0 < st.proven_security_bits < st.security_bits
    with pytest.raises(InsufficientSecurity) as e:
        stark_por.verify(path, min_security=st.security_bits + 1)
    assert e.value.actual == st.security_bits


def test_new_proofs_use_the_cubic_extension_and_both_figures_are_published(tmp_path, capsys):
    (tmp_path / "ledger.csv").write_text("user_id,BTC\na,1\nb,2\nc,3\n")
    (tmp_path / "ledger.assets.csv").write_text("asset,decimals\nBTC,8\n")
    (tmp_path / "master.key").write_bytes(b"s" * 32)
    path = tmp_path / "r.stpor"
    assert main(["-q", "prove", str(tmp_path / "ledger.csv"), "-o", str(path), "--round-id", "r",
                 "--secret-file", str(tmp_path / "master.key"), "--statement-version", "1"]) == EXIT_OK
    k, [inner] = batch_proofs(path.read_bytes())  # version 1's file layout
    at = 6 + struct.unpack_from("<H", inner, 4)[0]
    at += 1 + inner[at]
    assert inner[at + 3] == 3, "the default preset proves over the cubic extension"
    st = stark_por.verify(path)
    assert st.security_bits == conjectured(inner, k) == 103
    assert 0 < st.proven_security_bits < st.security_bits
    # the summary published beside the round, and the CLI, give both figures, labelled
    summary = json.loads((tmp_path / "r.stpor.json").read_text())
    assert (summary["security_bits"], summary["proven_security_bits"]) == (st.security_bits, st.proven_security_bits)
    capsys.readouterr()
    assert main(["verify", str(path)]) == EXIT_OK
    out = capsys.readouterr().out
    assert f"{st.security_bits} bits conjectured, {st.proven_security_bits} bits proven" in out
    assert main(["verify", str(path), "--min-security", "104"]) == EXIT_INVALID


@settings(max_examples=25, deadline=None)
@given(name=hs.sampled_from(["single-100", "batched-100", "single-128"]), minimum=hs.integers(100, 200))
def test_the_minimum_is_enforced_on_the_conjectured_figure(name, minimum):
    path = FIXTURES / f"{name}.stpor"
    figure = stark_por.verify(path).security_bits
    if minimum <= figure:
        assert stark_por.verify(path, min_security=minimum).security_bits == figure
    else:
        with pytest.raises(InsufficientSecurity) as e:
            stark_por.verify(path, min_security=minimum)
        assert (e.value.required, e.value.actual) == (minimum, figure)
