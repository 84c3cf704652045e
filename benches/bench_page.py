"""Inclusion-page benchmark: one check of a 2^20-leaf round in headless Chromium.

    python benches/bench_page.py              # 15 fresh page loads
    python benches/bench_page.py --loads 5 --json page.json

The round is synthetic (a real round of 2^20 users is not needed: a check does not depend on
the other leaves): a user's real leaf of statement version 2 (id commitment, 3 entries, one a
250,000 ETH whale's), 20 random sibling digests and
the root they walk to, all hashed by the Rust core; the page is ``stark_por.page.render_page``
of a small verified round with its embedded summary replaced by this round's (fingerprint
computed by the page's own code). Needs Debian's chromium and chromium-driver, and selenium.

Figures per fresh page load (the user's case: one check, cold JIT):
- load: navigation start to the load event (parsing the page, setting up the verifier);
- check: Check pressed to the verdict written, measured inside the page;
- load to verdict: the two added (without the time a person takes to type);
- hash loop: the id commitment, the leaf and the 20 nodes alone, warm (median of 20 calls
  after the check; the check itself includes the cold first run).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

DEPTH = 20


def synthetic_round():
    import random

    from stark_por import _native
    from stark_por.verifiers import pyverify

    rng = random.Random(1)
    entries = (
        pyverify.Entry("BTC", 1, 8, 123_456_789_012),
        pyverify.Entry("ETH", 2, 18, 250_000 * 10**18 + 1),
        pyverify.Entry("USDT", 3, 6, 1_234_567_890_123),
    )
    salt, user_id = rng.randbytes(32), "user-0000734521"
    leaf = _native.inclusion_leaf(user_id, salt, [(e.index, e.units) for e in entries], 2)
    path = tuple(pyverify.digest_to_bytes([rng.randrange(pyverify.P) for _ in range(4)]) for _ in range(DEPTH))
    index = rng.randrange(1 << DEPTH)
    root = _native.walk_path(leaf, index, b"".join(path))
    proof = pyverify.InclusionProof(version=2, round_id="2026-11", user_id=user_id, salt=salt, entries=entries,
                                    leaf_index=index, num_leaves=1 << DEPTH, leaf=leaf, root=root, path=path)
    summary = {
        "round_id": "2026-11", "root": root.hex(), "num_leaves": 1 << DEPTH, "range_bits": 112,
        "security_bits": 103, "statement_version": 2,
        "assets": [{"asset": e.asset, "decimals": e.decimals, "total_units": str(e.units * 1000)} for e in entries],
    }
    return proof, summary


def small_verified_statement(folder: Path):
    import stark_por
    from stark_por import Asset, Ledger

    led = Ledger.from_entries(["a", "b"], [Asset("BTC", 8)], np.array([0, 1, 1]), np.array([0]), np.array([5]))
    path = stark_por.prove(led, secret=b"bench-page-secret-0123456789abcd", round_id="bench").save(folder / "r.stpor")
    return stark_por.verify(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loads", type=int, default=15, help="fresh page loads (each one check)")
    parser.add_argument("--json", help="also write the figures as JSON")
    args = parser.parse_args()

    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not chromedriver:
        print("needs Debian's chromium and chromium-driver", file=sys.stderr)
        return 2
    from selenium import webdriver

    from stark_por.page import render_page

    folder = Path(tempfile.mkdtemp(prefix="bench-page-"))
    proof, summary = synthetic_round()
    html = render_page(small_verified_statement(folder))
    start = html.index('<script type="application/json" id="stark-por-summary">')
    start = html.index(">", start) + 1
    end = html.index("</script>", start)

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=chromedriver))
    try:
        # the page's own code fingerprints the synthetic summary (it is the page under test)
        (folder / "probe.html").write_text(html)
        driver.get((folder / "probe.html").as_uri())
        summary["fingerprint"] = driver.execute_script(
            "const s = arguments[0]; return StarkPor.toHex(StarkPor.fingerprint({...s, num_leaves: BigInt(s.num_leaves),"
            " root: StarkPor.hexBytes(s.root), assets: s.assets.map((a) => ({name: a.asset, decimals: a.decimals,"
            " total_units: BigInt(a.total_units)}))}))", summary)
        page = folder / "verify.html"
        page.write_text(html[:start] + json.dumps(summary).replace("<", "\\u003c") + html[end:])

        text = proof.to_json()
        rows = []
        for _ in range(args.loads):
            driver.get(page.as_uri())
            rows.append(driver.execute_script("""
                const [user, text] = arguments;
                const nav = performance.getEntriesByType('navigation')[0];
                document.getElementById('user-id').value = user;
                document.getElementById('proof-text').value = text;
                let t = performance.now();
                document.getElementById('check').click();
                const check = performance.now() - t;
                const verdict = document.getElementById('verdict').dataset.state;
                const p = StarkPor.decode(text), S = StarkPor;
                const loop = () => S.walk(S.leafOf(S.idCommitment(p.salt, p.user_id), p.entries.map((e) => [e.index, e.units]), p.version), p.leaf_index, p.path);
                const warm = [];
                for (let k = 0; k < 21; k++) { t = performance.now(); loop(); warm.push(performance.now() - t); }
                warm.sort((a, b) => a - b);
                return {load: nav.loadEventEnd - nav.startTime, check, verdict,
                        loop_warm: warm[10]};""", proof.user_id, text))
        assert all(r["verdict"] == "included" for r in rows), rows
        version = driver.capabilities.get("browserVersion")
    finally:
        driver.quit()
        shutil.rmtree(folder, ignore_errors=True)

    med = lambda key: statistics.median(r[key] for r in rows)  # noqa: E731
    result = {
        "browser": f"chromium {version} (headless)",
        "machine": f"{platform.processor() or platform.machine()}, {platform.system()}",
        "leaves": 1 << DEPTH, "loads": args.loads, "proof_bytes": len(text.encode()),
        "load_ms": med("load"), "check_ms": med("check"), "load_to_verdict_ms": med("load") + med("check"),
        "check_ms_min": min(r["check"] for r in rows), "check_ms_max": max(r["check"] for r in rows),
        "load_ms_min": min(r["load"] for r in rows), "hash_loop_warm_ms": med("loop_warm"),
        "hash_loop_warm_ms_min": min(r["loop_warm"] for r in rows),
    }
    print(f"one check of a 2^{DEPTH}-leaf round in {result['browser']}, median of {args.loads} fresh loads:")
    print(f"  load {result['load_ms']:.1f} ms + check {result['check_ms']:.1f} ms "
          f"= load to verdict {result['load_to_verdict_ms']:.1f} ms")
    print(f"  fastest load {result['load_ms_min']:.1f} ms; check fastest {result['check_ms_min']:.1f} ms, "
          f"slowest {result['check_ms_max']:.1f} ms")
    print(f"  hash loop alone (id commitment, leaf, {DEPTH} nodes), warm: {result['hash_loop_warm_ms']:.2f} ms "
          f"(fastest {result['hash_loop_warm_ms_min']:.2f} ms)")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
