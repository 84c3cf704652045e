"""Reserves read on-chain at the snapshot block, valued in USD (issue 13).

The chains are real and local (127.0.0.1 only, see tests/chainnodes.py): a py-evm chain behind
eth-tester, with an ERC-20 contract compiled here by vyper, served over HTTP JSON-RPC; and a
chain of real Bitcoin transactions and headers (bitcoin-utils) served through the Esplora API
routes stark-por reads -- no bitcoin node is packaged, so that server is the tests' own.
Funds move AFTER the snapshot block, so a report that read the latest state would be caught.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import stark_por
from chainnodes import TESTER_CHAIN_ID, EsploraChain, EsploraServer, EvmChain, RpcServer, closed_port_url
from stark_por import Asset, Ledger, prove, verify
from stark_por.cli import main
from stark_por.errors import ChainError, PricesError, ReservesError
from stark_por.reserves import Reserves, Wallet
from stark_por.reserves.ownership import address_of_key, challenge_message, sign_message
from stark_por.reserves.prices import Price, Prices
from stark_por.reserves.prices import load as load_prices
from test_reserves import _chromium, browser  # noqa: F401  (browser is a fixture)

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"  # git-ignored: screenshots kept for a look

ROUND = "2026-12"
EXCHANGE = "Chain Exchange"
ASSETS = (Asset("BTC", 8), Asset("ETH", 18), Asset("USDT", 6))
# Liabilities: BTC 7, ETH 3, USDT 2,000,000.
BALANCES = [[400_000_000, 2 * 10**18, 1_500_000 * 10**6], [300_000_000, 10**18, 500_000 * 10**6]]
IDS = {"ethereum": TESTER_CHAIN_ID}


def key(label: str) -> bytes:
    return hashlib.sha256(f"stark-por onchain test key {label}".encode()).digest()


def addr(chain: str, label: str, kind=None) -> str:
    return address_of_key(chain, key(label), kind)


def signed(asset, chain, balance, label, *, kind=None, block, token=None) -> Wallet:
    own = addr(chain, label, kind)
    sig = sign_message(chain, key(label), challenge_message(EXCHANGE, ROUND, own), kind)
    return Wallet(asset=asset, chain=chain, address=own, balance=balance, block=block, signature=sig, token=token,
                  source=f"test wallet {label}")


@pytest.fixture(scope="module")
def proof_path(tmp_path_factory):
    ledger = Ledger.from_arrays(["u1", "u2"], ASSETS, np.array(BALANCES, dtype=np.uint64))
    path = tmp_path_factory.mktemp("onchain") / f"{ROUND}.stpor"
    prove(ledger, secret=b"k" * 32, round_id=ROUND).save(path)
    return path


@pytest.fixture(scope="module")
def statement(proof_path):
    return verify(proof_path)


@pytest.fixture(scope="module")
def evm():
    """ETH wallet: 4 ETH at the snapshot, 5 after. USDT wallet: 2,500,000 at the snapshot, 1,500,000 after."""
    chain = EvmChain(token_decimals=6)
    eth, usdt = addr("ethereum", "eth"), addr("ethereum", "usdt")
    chain.send_eth(eth, 4 * 10**18)
    chain.send_eth(usdt, 10**18)  # gas for its transfer after the snapshot
    chain.send_token(usdt, 2_500_000 * 10**6)
    chain.snapshot = chain.height
    chain.send_eth(eth, 10**18)
    chain.send_token(chain.funder, 1_000_000 * 10**6, sender=chain.add_key(key("usdt")))
    server = RpcServer(chain, delay=1.0)
    chain.server = server
    yield chain
    server.close()


@pytest.fixture(scope="module")
def btc():
    """W1 (P2WPKH) 2 BTC at the snapshot (height 3), 3 after; W2 (P2PKH) 3 then 0; W3 (P2SH) 30 × 0.1 BTC
    (more than one 25-transaction page of history)."""
    chain = EsploraChain()
    w1, w2, w3 = addr("bitcoin", "b1", "p2wpkh"), addr("bitcoin", "b2", "p2pkh"), addr("bitcoin", "b3", "p2sh")
    elsewhere = addr("bitcoin", "elsewhere", "p2wpkh")
    chain.mine([([], [(w1, 5 * 10**8), (w2, 3 * 10**8)])])
    chain.mine([([], [(w3, 10**7)]) for _ in range(30)])
    first = chain.blocks[1][2][0]
    chain.mine([([(first, 0)], [(w1, 2 * 10**8), (elsewhere, 3 * 10**8)])])  # W1 spends 5, keeps 2
    chain.snapshot = 3  # the last block mined so far
    assert len(chain.blocks) == 4
    chain.mine([([(first, 1)], [(elsewhere, 3 * 10**8)]), ([], [(w1, 10**8)])])  # after the snapshot
    server = EsploraServer(chain, delay=1.0)
    chain.server = server
    yield chain
    server.close()


def wallets(evm, btc, *, eth="4", usdt="2500000", w1="2", token=True):
    tok = evm.token.address if token else None
    return [
        signed("BTC", "bitcoin", w1, "b1", kind="p2wpkh", block=btc.snapshot),
        signed("BTC", "bitcoin", "3", "b2", kind="p2pkh", block=btc.snapshot),
        signed("BTC", "bitcoin", "3", "b3", kind="p2sh", block=btc.snapshot),
        signed("ETH", "ethereum", eth, "eth", block=evm.snapshot),
        signed("USDT", "ethereum", usdt, "usdt", block=evm.snapshot, token=tok),
    ]


def nodes(evm, btc):
    return {"ethereum": evm.server.url, "bitcoin": btc.server.url}


def run(statement, ws, chains, **kw):
    kw.setdefault("chain_ids", IDS)
    return stark_por.report(statement, Reserves(tuple(ws)), exchange=EXCHANGE, chains=chains, **kw)


@pytest.fixture(autouse=True)
def healthy(evm, btc):
    evm.server.fault = btc.server.fault = None
    yield
    evm.server.fault = btc.server.fault = None


# ------------------------------------------------------------------------------ the happy path


def test_balances_are_read_at_the_snapshot_block_not_the_latest(statement, evm, btc):
    # The chain moved after the snapshot: the latest state would give other numbers.
    eth, usdt = addr("ethereum", "eth"), addr("ethereum", "usdt")
    assert evm.w3.eth.get_balance(eth) == 5 * 10**18
    assert evm.token.functions.balanceOf(usdt).call() == 1_500_000 * 10**6

    rep = run(statement, wallets(evm, btc), nodes(evm, btc))
    assert rep.passed and rep.checked_on_chain == (5, 5)
    assert all(w.balance_check == "matches" for w in rep.wallets)
    assert rep.verdict.endswith("balances checked on-chain at each wallet's snapshot block")
    eth_w = next(w for w in rep.wallets if w.wallet.asset == "ETH")
    assert eth_w.balance_detail == f"on-chain at block {evm.snapshot}: matches"
    block = evm.w3.eth.get_block(evm.snapshot)
    assert eth_w.reading.block_hash == "0x" + block["hash"].hex() and eth_w.reading.block_time == block["timestamp"]
    usdt_w = next(w for w in rep.wallets if w.wallet.asset == "USDT")
    assert usdt_w.reading.token == evm.token.address and usdt_w.reading.units == 2_500_000 * 10**6
    btc_assets = next(a for a in rep.assets if a.asset == "BTC")
    assert btc_assets.verified_units == 8 * 10**8  # 2 + 3 + 30 × 0.1, at height 3
    w1 = rep.wallets[0]
    header = bytes.fromhex(btc.blocks[btc.snapshot][1])
    assert w1.reading.block_hash == hashlib.sha256(hashlib.sha256(header).digest()).digest()[::-1].hex()
    doc = json.loads(rep.to_json())
    assert doc["balances"] == {"basis": rep.balances_basis, "counted_wallets": 5, "checked_on_chain": 5}
    assert doc["wallets"][3]["on_chain"]["balance"] == "4"


def test_a_declared_balance_that_differs_counts_at_its_on_chain_value(statement, evm, btc):
    # The exchange declares the post-snapshot (latest) balances at the snapshot block.
    rep = run(statement, wallets(evm, btc, eth="5", usdt="1500000", w1="3"), nodes(evm, btc))
    eth_w = next(w for w in rep.wallets if w.wallet.asset == "ETH")
    assert eth_w.balance_check == "differs" and eth_w.units == 4 * 10**18
    assert eth_w.balance_detail == f"on-chain at block {evm.snapshot}: differs (declared 5, chain 4)"
    assert next(a for a in rep.assets if a.asset == "USDT").verified == Decimal("2500000")
    assert next(a for a in rep.assets if a.asset == "BTC").verified == Decimal("8")
    kinds = [f for f in rep.flags if f.kind == "balance_differs"]
    assert len(kinds) == 3
    assert any("declared 5, on-chain 4 at block" in f.message and "(-1)" in f.message for f in kinds)


def test_a_token_with_more_decimals_than_the_asset_counts_rounded_down(statement, evm, btc):
    # USDT with 18 decimals (as on bsc), here a second contract on the same test chain served as "bsc".
    token18 = evm.deploy_token(18)
    holder = addr("bsc", "usdt-18")
    evm.send_token(holder, 2_000_000 * 10**18 + 7, token=token18)  # 2,000,000.000000000000000007
    block = evm.height
    ws = wallets(evm, btc)[:4] + [signed("USDT", "bsc", "2000000", "usdt-18", block=block, token=token18.address)]
    rep = run(statement, ws, {"bsc": evm.server.url}, chain_ids={"bsc": TESTER_CHAIN_ID})
    w = rep.wallets[-1]
    assert w.reading.units == 2_000_000 * 10**18 + 7 and w.reading.decimals == 18
    assert w.units == 2_000_000 * 10**6  # the 7 wei-like units below USDT's 6 decimals are not counted
    assert w.balance_check == "differs" and w.balance_detail == (
        f"on-chain at block {block}: differs (declared 2,000,000, chain 2,000,000.000000000000000007); "
        "counted as 2,000,000 (USDT has 6 decimals)")
    assert next(a for a in rep.assets if a.asset == "USDT").verified_units == 2_000_000 * 10**6


def test_an_overstated_balance_fails_when_read_on_chain(statement, evm, btc):
    # Declared, BTC would pass (8 ≥ 7); read on-chain at the wallets' block 4, W2 is empty: 6 < 7.
    ws = wallets(evm, btc)
    ws[:3] = [Wallet(**{**{f: getattr(w, f) for f in ("asset", "chain", "address", "balance", "signature")},
                        "block": 4}) for w in ws[:3]]
    declared = run(statement, ws, {})
    assert declared.passed and declared.checked_on_chain == (0, 5)
    assert declared.verdict.endswith("balances as declared by the exchange (not checked on-chain)")
    assert all(w.balance_detail == "not checked (no node given)" for w in declared.wallets)
    rep = run(statement, ws, {"bitcoin": btc.server.url})
    assert not rep.passed and rep.checked_on_chain == (3, 5)
    assert "3 of 5 counted balances checked on-chain, the rest as declared" in rep.verdict
    assert [w.reading.units for w in rep.wallets[:3]] == [3 * 10**8, 0, 3 * 10**8]


# --------------------------------------------------------------------------------- node faults


@pytest.mark.parametrize("fault, expect", [
    ("unreachable", "unreachable (1 try)"),
    ("slow", "no answer to eth_chainId within 0.3 s (1 try)"),
    ("wrong_block", "answered block {n1} when asked for block {n}"),
    ("malformed", "gave a malformed answer to eth_getBalance"),
    ("garbage", "gave a malformed answer to eth_chainId"),
    ("rpc_error", "answered eth_getBalance({addr}, {n}) with an error: {{'code': -32000, 'message': 'missing trie node'}}"),
])
def test_evm_node_faults_name_the_node_and_the_wallet(statement, evm, btc, fault, expect, tmp_path):
    url = closed_port_url() if fault == "unreachable" else evm.server.url
    evm.server.fault = fault
    ws = wallets(evm, btc)[3:4]
    with pytest.raises(ChainError) as e:
        run(statement, ws, {"ethereum": url}, timeout=0.3, retries=0)
    msg = str(e.value)
    assert msg.startswith(f"ethereum node {url}, wallet ETH {ws[0].address} (test wallet eth): ")
    assert expect.format(n=evm.snapshot, n1=evm.snapshot + 1, addr=ws[0].address) in msg
    assert e.value.node == f"ethereum node {url}" and "test wallet eth" in e.value.wallet


@pytest.mark.parametrize("fault, expect", [
    ("unreachable", "unreachable (1 try)"),
    ("slow", "no answer to GET /block-height/3 within 0.3 s (1 try)"),
    ("wrong_block", "answered block 4 ("),
    ("malformed", "is not a block hash"),
    ("tampered_tx", "gave a raw transaction that hashes to"),
])
def test_esplora_faults_name_the_node_and_the_wallet(statement, evm, btc, fault, expect):
    url = closed_port_url() if fault == "unreachable" else btc.server.url
    btc.server.fault = fault
    ws = wallets(evm, btc)[:1]
    with pytest.raises(ChainError) as e:
        run(statement, ws, {"bitcoin": url}, timeout=0.3, retries=0)
    assert str(e.value).startswith(f"bitcoin node {url}, wallet BTC {ws[0].address} (test wallet b1): ")
    assert expect in str(e.value)


def test_retries_then_a_clear_error(statement, evm, btc):
    evm.server.fault = "drop"  # the connection closes without an answer, every time
    before = len(evm.server.requests)
    with pytest.raises(ChainError, match=r"unreachable \(3 tries\)"):
        run(statement, wallets(evm, btc)[3:4], {"ethereum": evm.server.url}, timeout=2, retries=2)
    assert len(evm.server.requests) - before == 3


def test_a_block_that_changes_while_reading_is_refused(statement, evm, btc):
    evm.server.fault, evm.server.blocks_served = "reorg", 0
    with pytest.raises(ChainError, match=f"block {evm.snapshot} changed from 0x[0-9a-f]{{64}} to 0x[0-9a-f]{{64}} "
                                         "while balances were read"):
        run(statement, wallets(evm, btc)[3:], {"ethereum": evm.server.url})


def test_a_secret_in_a_node_url_is_never_shown(statement, evm, btc, tmp_path):
    port = evm.server.url.rsplit(":", 1)[1]
    url = f"http://user:SECRET0@127.0.0.1:{port}/v3/SECRET1?key=SECRET2"
    rep = run(statement, wallets(evm, btc)[3:], {"ethereum": url})
    assert rep.wallets[0].reading.node == f"http://127.0.0.1:{port}/…"
    for text in (rep.to_json(), rep.to_html(), rep.to_markdown()):
        assert "SECRET" not in text
    for fault in ("garbage", "rpc_error", "drop"):
        evm.server.fault = fault
        with pytest.raises(ChainError) as e:
            run(statement, wallets(evm, btc)[3:4], {"ethereum": url}, retries=0)
        assert "SECRET" not in str(e.value) and f"ethereum node http://127.0.0.1:{port}/…" in str(e.value)
    with pytest.raises(ChainError) as e:
        run(statement, wallets(evm, btc)[3:4], {"ethereum": closed_port_url() + "/SECRET3"}, retries=0)
    assert "SECRET" not in str(e.value)


def test_a_node_of_another_chain_is_refused(statement, evm, btc):
    with pytest.raises(ChainError, match=f"serves chain id {TESTER_CHAIN_ID}, not ethereum \\(1\\)"):
        run(statement, wallets(evm, btc)[3:4], {"ethereum": evm.server.url}, chain_ids={})


def test_a_block_the_node_does_not_have(statement, evm, btc):
    ws = [signed("ETH", "ethereum", "4", "eth", block=10**6)]
    with pytest.raises(ChainError, match="has no block 1000000"):
        run(statement, ws, {"ethereum": evm.server.url})


# ------------------------------------------------------------------------- refused reserves files


def test_an_erc20_asset_without_its_token_contract_is_refused(statement, evm, btc):
    ws = wallets(evm, btc, token=False)
    with pytest.raises(ReservesError, match="USDT is an ERC-20 token on ethereum .* no wallet names its token"):
        run(statement, ws, nodes(evm, btc))
    assert run(statement, ws, {}).passed  # without a node the token is not needed


def test_token_contract_mistakes_are_refused(statement, evm, btc):
    ws = wallets(evm, btc)
    on_native = Wallet(**{**ws[3].__dict__, "token": evm.token.address})
    with pytest.raises(ReservesError, match="ETH on ethereum is the chain's own coin, not a token"):
        run(statement, ws[:3] + [on_native, ws[4]], {})
    btc_token = Wallet(**{**ws[0].__dict__, "token": evm.token.address})
    with pytest.raises(ReservesError, match="bitcoin has no token contracts"):
        run(statement, [btc_token] + ws[1:], {})
    second = signed("USDT", "ethereum", "1", "usdt2", block=evm.snapshot, token=addr("ethereum", "other"))
    with pytest.raises(ReservesError, match="USDT on ethereum has token .* here but"):
        run(statement, ws + [second], {})
    no_code = signed("USDT", "ethereum", "2500000", "usdt", block=evm.snapshot, token=addr("ethereum", "nothing"))
    with pytest.raises(ChainError, match="has no contract at token address"):
        run(statement, ws[:4] + [no_code], nodes(evm, btc))


def test_a_wallet_without_a_snapshot_block_cannot_be_read(statement, evm, btc):
    ws = wallets(evm, btc)
    timed = Wallet(**{**ws[3].__dict__, "block": None, "time": "2026-12-01T00:00:00Z"})
    with pytest.raises(ReservesError, match="has no snapshot block"):
        run(statement, ws[:3] + [timed, ws[4]], nodes(evm, btc))


def test_a_wallet_listed_twice_is_read_and_counted_once(statement, evm, btc):
    ws = wallets(evm, btc)
    rep = run(statement, ws + [ws[3]], nodes(evm, btc))
    dup = rep.wallets[-1]
    assert dup.status == "duplicate" and not dup.counted and dup.reading is None
    assert next(a for a in rep.assets if a.asset == "ETH").verified == Decimal(4)
    assert any(f.kind == "duplicate" for f in rep.flags)


# ------------------------------------------------------------------------------------------- USD


PRICES = Prices.of([Price("BTC", Decimal("97250.12"), "test feed", "2026-12-01T00:00:00Z"),
                    Price("ETH", Decimal("3512.4"), "test feed", "2026-12-01T00:00:00Z"),
                    Price("USDT", Decimal("0.9998"), "test feed", "2026-12-01T00:00:00Z")], ROUND)


def test_usd_values_are_exact(statement, evm, btc):
    rep = run(statement, wallets(evm, btc), nodes(evm, btc), prices=PRICES)
    btc_a = next(a for a in rep.assets if a.asset == "BTC")
    assert btc_a.liabilities_usd == Decimal("680750.84") and btc_a.verified_usd == Decimal("778000.96")
    usdt = next(a for a in rep.assets if a.asset == "USDT")
    assert usdt.surplus_usd == Decimal("499900.0000")
    tot = rep.usd_totals
    assert tot["liabilities"] == Decimal("680750.84") + Decimal("10537.2") + Decimal("1999600.0000")
    assert tot["surplus"] == tot["verified_reserves"] - tot["liabilities"]
    doc = json.loads(rep.to_json())
    assert doc["usd"]["liabilities"] == "2690888.0400" and doc["prices"]["sources"] == ["test feed"]
    md = rep.to_markdown()
    assert "| **Total** | | **$2,690,888.04** |" in md and "BTC $97,250.12 from test feed" in md


def test_a_price_missing_for_an_asset_with_liabilities_is_refused(statement, evm, btc):
    partial = Prices.of([p for p in PRICES if p.asset != "ETH"])
    with pytest.raises(PricesError, match="give no USD price for ETH, which has liabilities"):
        run(statement, wallets(evm, btc), {}, prices=partial)
    with pytest.raises(PricesError, match="are for round '2026-11'"):
        run(statement, wallets(evm, btc), {}, prices=Prices.of(list(PRICES), "2026-11"))


@pytest.mark.parametrize("text, where", [
    ("asset,usd_price,source,timestamp\nBTC,1e5,feed,2026-12-01T00:00:00Z\n", "line 2, column usd_price: '1e5' is not a plain"),
    ("asset,usd_price,source,timestamp\nBTC,-3,feed,2026-12-01T00:00:00Z\n", "line 2, column usd_price: '-3'"),
    ("asset,usd_price,source,timestamp\nBTC,0,feed,2026-12-01T00:00:00Z\n", "is zero"),
    ("asset,usd_price,source,timestamp\nBTC,1,,2026-12-01T00:00:00Z\n", "line 2, column source: is missing"),
    ("asset,usd_price,source,timestamp\nBTC,1,feed,yesterday\n", "line 2, column timestamp: 'yesterday' is not an ISO 8601"),
    ("asset,usd_price,source,timestamp\nBTC,1,f,2026-12-01\nBTC,2,f,2026-12-01\n", "line 3, column asset: 'BTC' is priced twice"),
    ("asset,usd,source\nBTC,1,f\n", "header must name exactly"),
    ('{"prices": [{"asset": "BTC", "usd_price": 1.5e3, "source": "f", "timestamp": "2026-12-01"}]}', "price 0, column usd_price"),
])
def test_bad_prices_files_are_refused_naming_line_and_field(tmp_path, text, where):
    path = tmp_path / ("p.json" if text.startswith("{") else "p.csv")
    path.write_text(text)
    with pytest.raises(PricesError) as e:
        load_prices(path)
    assert where in str(e.value)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["BTC", "ETH", "USDT", "DOGE", "SOL"]),
                          st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("10") ** 9, places=8)),
                min_size=1, max_size=5, unique_by=lambda t: t[0]),
       st.booleans())
def test_prices_files_round_trip_exactly(tmp_path_factory, items, as_json):
    prices = Prices.of([Price(a, p, "feed, with a comma", "2026-12-01T00:00:00+00:00") for a, p in items], ROUND)
    path = tmp_path_factory.mktemp("prices") / ("p.json" if as_json else "p.csv")
    back = load_prices(prices.save(path))
    assert [p.to_dict() for p in back] == [p.to_dict() for p in prices]
    for p in back:  # the value is the exact number written, not a float's neighbour
        assert Fraction(p.usd_price) == Fraction(dict(items)[p.asset])


# ------------------------------------------------------------------------------------------- CLI


def test_cli_reads_the_chains_and_writes_nothing_when_a_node_fails(tmp_path, proof_path, evm, btc):
    reserves = Reserves(tuple(wallets(evm, btc)), exchange=EXCHANGE, round_id=ROUND).save(tmp_path / "r.csv")
    prices = PRICES.save(tmp_path / "prices.csv")
    out, js = tmp_path / "report.html", tmp_path / "report.json"
    base = ["-q", "report", str(proof_path), "--reserves", str(reserves), "--exchange", EXCHANGE,
            "--chain-id", f"ethereum={TESTER_CHAIN_ID}", "--prices", str(prices), "-o", str(out), "--json", str(js)]
    assert main(base + ["--chain", f"ethereum={evm.server.url}", "--chain", f"bitcoin={btc.server.url}"]) == 0
    doc = json.loads(js.read_text())
    assert doc["balances"]["checked_on_chain"] == 5 and doc["usd"]["surplus"] is not None
    assert "on-chain at block" in out.read_text()

    out.unlink(), js.unlink()
    dead = closed_port_url()
    assert main(base + ["--chain", f"ethereum={dead}", "--timeout", "0.5", "--retries", "0"]) == 2
    assert not out.exists() and not js.exists()
    assert main(base + ["--chain", "ethereum"]) == 2
    assert main(base + ["--chain", "dogechain=http://127.0.0.1:1"]) == 2


# --------------------------------------------------------------------------------------- browser


def test_onchain_usd_report_renders_in_headless_chromium(browser, statement, evm, btc, tmp_path):  # noqa: F811
    from PIL import Image

    rep = run(statement, wallets(evm, btc, eth="5"), nodes(evm, btc), prices=PRICES)
    page = tmp_path / "report.html"
    rep.save(page)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report-onchain.png"
    r = _chromium("--window-size=1200,2200", f"--screenshot={shot}", page.as_uri())
    assert shot.exists(), r.stderr[-2000:]
    img = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3)
    assert len(np.unique(img, axis=0)) > 200
    dom = _chromium("--virtual-time-budget=10000", "--dump-dom", page.as_uri()).stdout
    assert dom.count('data-check="matches"') == 4 and dom.count('data-check="differs"') == 1
    assert f"on-chain at block {evm.snapshot}: differs (declared 5, chain 4)" in dom
    assert 'id="usd"' in dom and "$2,690,888.04" in dom and "test feed" in dom
    assert "balances checked on-chain at each wallet's snapshot block" in dom
    assert rep.fingerprint in dom


def test_a_workloads_prices_file_is_read_as_is(tmp_path):
    from stark_por.workloads import W3, write_prices_csv

    w = W3(8, seed=1)
    prices = load_prices(write_prices_csv(w.listings, tmp_path / "prices.csv"))
    assert {p.asset: p.usd_price for p in prices} == w.prices
