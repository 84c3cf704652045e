"""Renders a :class:`~stark_por.reserves.report.SolvencyReport` as Markdown, HTML and a PNG chart.

Every string that came from a file (exchange, addresses, labels, reasons) is
escaped; the HTML page loads nothing from elsewhere and runs no script.
"""

from __future__ import annotations

import base64
import io
from html import escape
from datetime import datetime, timezone
from decimal import Decimal
from typing import List

from .. import __version__

_PASS, _FAIL, _INK, _LINE = "#1b7f3b", "#b42318", "#1d232b", "#e3e6ea"
_MAX_FLAGS_SHOWN = 60


def _amount(d) -> str:
    return format(d, ",f")


def _cents(d: Decimal) -> str:
    """``$1,234.57`` (to the cent, half-even) for display; the JSON report keeps the exact value."""
    sign = "−" if d < 0 else ""
    return f"{sign}${abs(d).quantize(Decimal('0.01')):,f}"


def _signed_amount(units: int, decimals: int) -> str:
    from ..ledger import format_amount

    text = _amount(Decimal(format_amount(abs(units), decimals) or "0"))
    return ("−" + text) if units < 0 else text


def _percent(fraction: str) -> str:
    """A haircut ``"0.05"`` as ``"5%"`` (exact)."""
    return f"{(Decimal(fraction) * 100).normalize():f}%"


def _margin_rows(rep):
    """``(asset result, terms)`` of a version-3 statement's assets, in statement order."""
    return [(a, a.margin) for a in rep.assets if a.margin is not None]


def _liabilities_label(rep) -> str:
    return "Net liabilities" if rep.statement.statement_version >= 3 else "Liabilities"


def _counts(rep):
    owed = [a for a in rep.assets if a.liabilities_units > 0]
    covered = [a for a in owed if a.passed]
    counted = [w for w in rep.wallets if w.counted]
    return owed, covered, counted


# ------------------------------------------------------------------------------------ chart


def chart_png(rep) -> bytes:
    """Horizontal bars: verified reserve ratio per asset with liabilities, and the 100% line."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    rows = [a for a in rep.assets if a.liabilities_units > 0]
    n = max(len(rows), 1)
    fig = Figure(figsize=(8, 0.34 * n + 1.5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    pct = [float(a.ratio * 100) for a in rows]
    cap = max(150.0, min(max(pct, default=0.0), 300.0))  # longer bars are cut at the cap
    xmax = cap * 1.18
    ax.barh(range(len(rows)), [min(p, cap) for p in pct], height=0.62,
            color=[_PASS if a.passed else _FAIL for a in rows])
    for i, (a, p) in enumerate(zip(rows, pct)):
        label = a.percent + (" ▸" if p > cap else "")
        ax.text(min(p, cap) + xmax * 0.01, i, label, va="center", fontsize=8.5, color=_INK)
    ax.axvline(100, color=_INK, linestyle="--", linewidth=1.2)
    ax.text(100, -0.75, " 100% = fully covered", va="bottom", ha="left", fontsize=8.5, color=_INK)
    ax.set_yticks(range(len(rows)), [a.asset for a in rows])
    ax.set_ylim(n - 0.5, -1.1)  # first asset on top, room for the 100% label
    ax.set_xlim(0, xmax)
    ax.xaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.grid(axis="x", color=_LINE)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel("verified reserves ÷ liabilities", fontsize=9.5, color=_INK)
    if not rows:
        ax.text(0.5, 0.5, "no liabilities", transform=ax.transAxes, ha="center", color=_INK)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


# --------------------------------------------------------------------------------- markdown


def _md(text) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("`", "\\`")


def markdown(rep) -> str:
    s = rep.statement
    owed, covered, counted = _counts(rep)
    title = f"{rep.exchange} — " if rep.exchange else ""
    out: List[str] = [
        f"# {_md(title)}Proof of reserves, round {_md(s.round_id)}",
        "",
        f"**{_md(rep.verdict)}**",
        "",
        f"- Liabilities proof: verified, {s.security_bits}-bit conjectured ({s.proven_security_bits}-bit proven) security, statement fingerprint `{rep.fingerprint}`, "
        f"root `{s.root}`, {s.num_leaves:,} leaves",
        *([f"- Users check their own inclusion on [the inclusion page]({rep.inclusion_page})"] if rep.inclusion_page else []),
        f"- Assets covered: {len(covered)} of {len(owed)}",
        f"- Wallets verified: {len(counted)} of {len(rep.wallets)}",
        f"- {_md(rep.balances_basis[:1].upper() + rep.balances_basis[1:])}",
        "",
        f"| Asset | {_liabilities_label(rep)} | Verified reserves | Ratio | Unverified (not counted) | Wallets verified | Result |",
        "|---|--:|--:|--:|--:|--:|---|",
    ]
    for a in rep.assets:
        result = "PASS" if a.passed else "**FAIL**"
        if a.margin is not None and a.margin.net_units < 0:
            result = "none needed (customers owe more than they hold)"
        out.append(f"| {_md(a.asset)} | {_amount(a.liabilities)} | {_amount(a.verified)} | {a.percent} | "
                   f"{_amount(a.unverified)} | {a.wallets_verified} / {a.wallets_listed} | {result} |")
    out += _margin_markdown(rep)
    if rep.prices is not None:
        out += ["", "## In US dollars", "", "| Asset | Price | Liabilities | Verified reserves | Surplus |",
                "|---|--:|--:|--:|--:|"]
        for a in rep.assets:
            if a.price is not None:
                out.append(f"| {_md(a.asset)} | {_usd_price(a.price.usd_price)} | {_cents(a.liabilities_usd)} | "
                           f"{_cents(a.verified_usd)} | {_cents(a.surplus_usd)} |")
        tot = rep.usd_totals
        out.append(f"| **Total** | | **{_cents(tot['liabilities'])}** | **{_cents(tot['verified_reserves'])}** | "
                   f"**{_cents(tot['surplus'])}** |")
        out += ["", f"Prices: {_md(_sources(rep))}. Amounts rounded to the cent for display; the JSON report "
                    "keeps them exact."]
    if rep.flags:
        out += ["", f"## Needs attention ({len(rep.flags)})", ""]
        out += [f"- **{_md(f.kind)}**: {_md(f.message)}" for f in rep.flags]
    out += ["", "## Wallets", "",
            "| | Asset | Chain | Address | Balance (declared) | Snapshot | Ownership | On-chain balance |",
            "|---|---|---|---|--:|---|---|---|"]
    for w in rep.wallets:
        mark = "✓" if w.counted else "✗"
        out.append(f"| {mark} | {_md(w.wallet.asset)} | {_md(w.wallet.chain)} | `{_md(w.address or w.wallet.address)}` | "
                   f"{_md(w.wallet.balance_text)} | {_md(w.wallet.snapshot)} | {_md(w.detail)} | "
                   f"{_md(w.balance_detail)} |")
    out += ["", "## What was checked", "", _METHOD_MD.format(liabilities=_md(_liabilities_sentence(rep)), balances=_balances_sentence(rep))]
    if rep.challenge_template():
        out += ["", "Challenge message (with the wallet's address in place of ADDRESS):", "", "```",
                rep.challenge_template(), "```"]
    out += ["", f"_Generated by stark-por {__version__}._", ""]
    return "\n".join(out)


def _margin_markdown(rep) -> List[str]:
    rows = _margin_rows(rep)
    if not rows:
        return []
    from .report import MARGIN_MEANING

    out = ["", "## Held, owed and net (statement version 3)", "", _md(MARGIN_MEANING), "",
           "| Asset | Held (equity) | Owed (debt) | Net (held − owed) | Reserves needed | Price (USD) | Haircut |",
           "|---|--:|--:|--:|--:|--:|--:|"]
    for a, m in rows:
        price = "unpriced" if m.price is None else _usd_price(Decimal(m.price))
        haircut = "–" if m.haircut is None else _percent(m.haircut)
        out.append(f"| {_md(a.asset)} | {_signed_amount(m.equity_units, a.decimals)} | "
                   f"{_signed_amount(m.debt_units, a.decimals)} | {_signed_amount(m.net_units, a.decimals)} | "
                   f"{_signed_amount(m.required_units, a.decimals)} | {price} | {haircut} |")
    tot = rep.margin_usd_totals
    out += ["", f"At the statement's prices: held {_cents(tot['equity'])}, owed {_cents(tot['debt'])}, "
                f"net {_cents(tot['net'])}. The prices and haircuts are the statement's own (under its fingerprint)."]
    return out


_METHOD_MD = (
    "{liabilities} "
    "A wallet counts only if its signature, by the address's own key, verifies over this round's "
    "challenge message. Ratios are verified reserves ÷ liabilities, computed exactly and rounded down. "
    "{balances}"
)


def _liabilities_sentence(rep) -> str:
    s = rep.statement
    if s.statement_version >= 3:
        return (f"Net liabilities are, per asset, what customers hold minus what they owe, from the verified "
                f"zk-STARK liabilities proof of round {s.round_id}; reserves must cover them where they are "
                "above 0.")
    return f"Liabilities are the per-asset totals of the verified zk-STARK liabilities proof of round {s.round_id}."


def _balances_sentence(rep) -> str:
    read, total = rep.checked_on_chain
    if total and read == total:
        return ("Every counted balance was read from the chain at its wallet's snapshot block, from nodes the "
                "auditor chose; a balance that differs from the declared one counts at its on-chain value.")
    if read == 0:
        return ("Balances are as declared at each wallet's snapshot, not read from a chain: compare them with the "
                "chain at that block (stark-por report --chain CHAIN=URL does).")
    return (f"{read} of {total} counted balances were read from the chain at their snapshot blocks; the others "
            "are as declared.")


def _sources(rep) -> str:
    return "; ".join(f"{p.asset} {_usd_price(p.usd_price)} from {p.source} at {p.timestamp}" for p in rep.prices)


def _usd_price(d) -> str:
    return f"${d:,f}"


# ------------------------------------------------------------------------------------- html

_CSS = """
:root{--pass:#1b7f3b;--fail:#b42318;--muted:#5b6472;--line:#e3e6ea;--bg:#f4f6f8;--ink:#1d232b}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);background:var(--bg)}
main{max-width:1060px;margin:0 auto;padding:28px 24px 48px}
.kicker{text-transform:uppercase;letter-spacing:.08em;font-size:12px;color:var(--muted);margin:0}
h1{margin:2px 0 18px;font-size:28px;line-height:1.2}
h2{font-size:18px;margin:0 0 12px}
.verdict{border-radius:12px;padding:18px 24px;color:#fff}
.verdict.pass{background:var(--pass)}.verdict.fail{background:var(--fail)}
.verdict .word{font-size:40px;font-weight:800;letter-spacing:.02em;line-height:1.1}
.verdict p{margin:6px 0 0;font-size:17px}
.facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(210px,1fr));gap:12px;margin:14px 0 0}
.fact{background:#fff;border:1px solid var(--line);border-radius:10px;padding:10px 14px}
.fact b{display:block;font-size:20px}
.fact span{color:var(--muted);font-size:13px}
.card{background:#fff;border:1px solid var(--line);border-radius:12px;padding:18px 20px;margin-top:16px}
table{width:100%;border-collapse:collapse;font-size:14px}
th,td{text-align:left;padding:7px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.nowrap{white-space:nowrap}
.ok{color:var(--pass);font-weight:700}.bad{color:var(--fail);font-weight:700}
.mark{font-size:17px;text-align:center;width:28px}
.mono{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12.5px;word-break:break-all}
td.mono{min-width:200px}
.muted{color:var(--muted)}
.flags{margin:0;padding-left:20px}.flags li{margin:3px 0}
.flags .kind{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12.5px;color:var(--fail)}
img.chart{max-width:100%;height:auto;display:block;margin:0 auto}
pre{background:var(--bg);padding:10px 12px;border-radius:8px;overflow-x:auto;font-size:13px}
footer{margin-top:20px;color:var(--muted);font-size:13px}
"""


def html_page(rep) -> str:
    s = rep.statement
    e = escape
    owed, covered, counted = _counts(rep)
    who = f"{rep.exchange}" if rep.exchange else "Proof of reserves"
    word, cls = ("PASS", "pass") if rep.passed else ("FAIL", "fail")
    if rep.passed:
        sentence = (f"Every one of the {len(owed)} assets with customer liabilities is covered by reserves "
                    f"in wallets whose ownership was verified for this round; {rep.balances_basis}.")
    else:
        bad = ", ".join(f"{a.asset} ({a.percent})" for a in rep.uncovered)
        sentence = (f"{len(rep.uncovered)} of {len(owed)} assets are not covered by verified reserves: {bad}; "
                    f"{rep.balances_basis}.")
    read, total = rep.checked_on_chain
    png = chart_png(rep)
    chart = base64.b64encode(png).decode("ascii")
    width, height = _png_size(png)

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(who)} — proof of reserves, round {e(s.round_id)}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f'<p class="kicker">Proof of reserves · round {e(s.round_id)}</p>',
        f"<h1>{e(who)}</h1>",
        f'<section id="verdict" class="verdict {cls}" data-passed="{str(rep.passed).lower()}">',
        f'<div class="word">{"✓" if rep.passed else "✗"} {word}</div><p>{e(sentence)}</p></section>',
        '<div class="facts">',
        _fact(f"{len(covered)} / {len(owed)}", "assets covered by verified reserves"),
        _fact(f"{len(counted)} / {len(rep.wallets)}", "wallets with verified ownership"),
        _fact(f"{read} / {total}", "counted balances checked on-chain"),
        _fact(f"✓ {s.security_bits}-bit", f"liabilities proof verified (zk-STARK; conjectured security, {s.proven_security_bits}-bit proven)"),
        _fact(f"{len(rep.flags)}", "items needing attention"),
        "</div>",
    ]
    if rep.flags:
        items = [f'<li><span class="kind">{e(f.kind)}</span> {e(f.message)}</li>'
                 for f in rep.flags[:_MAX_FLAGS_SHOWN]]
        more = len(rep.flags) - _MAX_FLAGS_SHOWN
        if more > 0:
            items.append(f'<li class="muted">and {more} more: see the wallet list and the JSON report</li>')
        parts.append(f'<section id="flags" class="card"><h2>Needs attention ({len(rep.flags)})</h2>'
                     f'<ul class="flags">{"".join(items)}</ul></section>')
    alt = "Bar chart of the verified reserve ratio per asset: " + "; ".join(
        f"{a.asset} {a.percent}" for a in owed)
    parts.append(
        f'<section id="chart" class="card"><h2>Reserve ratio per asset</h2>'
        f'<img class="chart" id="ratio-chart" width="{width}" height="{height}" alt="{e(alt)}" '
        f'src="data:image/png;base64,{chart}"></section>'
    )
    rows = []
    for a in rep.assets:
        result = '<span class="ok">✓ PASS</span>' if a.passed else '<span class="bad">✗ FAIL</span>'
        if a.liabilities_units == 0:
            result = '<span class="muted">no liabilities</span>'
        if a.margin is not None and a.margin.net_units < 0:
            result = '<span class="muted" title="customers owe more of it than they hold">none needed</span>'
        rows.append(
            f"<tr><td><b>{e(a.asset)}</b></td><td class=num>{_amount(a.liabilities)}</td>"
            f"<td class=num>{_amount(a.verified)}</td><td class=num><b>{a.percent}</b></td>"
            f"<td class=num>{_amount(a.unverified)}</td>"
            f"<td class=num>{a.wallets_verified} / {a.wallets_listed}</td><td class=nowrap>{result}</td></tr>"
        )
    parts.append(
        '<section id="assets" class="card"><h2>Assets</h2><table><thead><tr><th>Asset</th>'
        f'<th class=num>{_liabilities_label(rep)}</th><th class=num>Verified reserves</th><th class=num>Ratio</th>'
        '<th class=num>Unverified (not counted)</th><th class=num>Wallets verified</th><th>Result</th>'
        f'</tr></thead><tbody>{"".join(rows)}</tbody></table></section>'
    )
    parts += _margin_html(rep)
    if rep.prices is not None:
        urows = []
        for a in rep.assets:
            if a.price is None:
                continue
            cls = "ok" if a.surplus_usd >= 0 else "bad"
            urows.append(f"<tr><td><b>{e(a.asset)}</b></td><td class=num>{e(_usd_price(a.price.usd_price))}</td>"
                         f"<td class=num>{_cents(a.liabilities_usd)}</td><td class=num>{_cents(a.verified_usd)}</td>"
                         f'<td class="num {cls}">{_cents(a.surplus_usd)}</td></tr>')
        tot = rep.usd_totals
        cls = "ok" if tot["surplus"] >= 0 else "bad"
        urows.append(f"<tr><td><b>Total</b></td><td></td><td class=num><b>{_cents(tot['liabilities'])}</b></td>"
                     f"<td class=num><b>{_cents(tot['verified_reserves'])}</b></td>"
                     f'<td class="num {cls}"><b>{_cents(tot["surplus"])}</b></td></tr>')
        parts.append(
            '<section id="usd" class="card"><h2>In US dollars</h2><table><thead><tr><th>Asset</th>'
            '<th class=num>Price</th><th class=num>Liabilities</th><th class=num>Verified reserves</th>'
            f'<th class=num>Surplus</th></tr></thead><tbody>{"".join(urows)}</tbody></table>'
            f'<p class="muted">Prices: {e(_sources(rep))}. Rounded to the cent for display; the JSON report '
            "keeps exact values.</p></section>"
        )
    wrows = []
    for w in rep.wallets:
        mark = '<td class="mark ok" title="verified">✓</td>' if w.counted else \
            '<td class="mark bad" title="not counted">✗</td>'
        label = f'<div class="muted">{e(w.wallet.label)}</div>' if w.wallet.label else ""
        wrows.append(
            f"<tr>{mark}<td>{e(w.wallet.asset)}</td><td>{e(w.wallet.chain)}</td>"
            f'<td class="mono">{e(w.address or w.wallet.address)}{label}</td>'
            f"<td class=num>{e(_amount(w.wallet.balance))}</td><td class=nowrap>{e(w.wallet.snapshot)}</td>"
            f'<td class="{"ok" if w.counted else "bad"}" style="font-weight:400">{e(w.detail)}</td>'
            f'<td class="{_CHECK_CLASS[w.balance_check]}" data-check="{w.balance_check}" '
            f'style="font-weight:400">{e(w.balance_detail)}{_block_note(w)}</td></tr>'
        )
    parts.append(
        f'<section id="wallets" class="card"><h2>Wallets ({len(counted)} of {len(rep.wallets)} verified)</h2>'
        '<table><thead><tr><th></th><th>Asset</th><th>Chain</th><th>Address</th><th class=num>Balance (declared)</th>'
        '<th>Snapshot</th><th>Ownership signature</th><th>On-chain balance</th></tr></thead>'
        f'<tbody>{"".join(wrows)}</tbody></table>'
        "</section>"
    )
    method = [f"<p>{e(_METHOD_MD.format(liabilities=_liabilities_sentence(rep), balances=_balances_sentence(rep)))}</p>",
              *([f'<p>Users check that their own balances are counted on <a id="inclusion-page" '
                 f'href="{e(rep.inclusion_page)}">the inclusion page</a> (it runs in the browser, offline).</p>']
                if rep.inclusion_page else []),
              f'<p>Statement fingerprint <span class="mono">{e(rep.fingerprint)}</span>. '
              f'Liabilities proof root <span class="mono">{e(s.root)}</span>, {s.num_leaves:,} leaves, '
              f"every balance proven in [0, 2<sup>{s.range_bits}</sup>).</p>"]
    if rep.challenge_template():
        method.append("<p>Each wallet signs this challenge, with its own address in place of ADDRESS "
                      "(Bitcoin signed-message format; EIP-191 <code>personal_sign</code> on EVM chains):</p>"
                      f"<pre>{e(rep.challenge_template())}</pre>")
    parts.append(f'<section id="method" class="card"><h2>What was checked</h2>{"".join(method)}</section>')
    parts.append(f"<footer>Generated by stark-por {e(__version__)}.</footer></main></body></html>")
    return "\n".join(parts) + "\n"


def _margin_html(rep) -> List[str]:
    """The equity, debt and net per asset of a version-3 statement, its prices and haircuts, and
    what they mean; nothing for earlier statements."""
    rows = _margin_rows(rep)
    if not rows:
        return []
    from .report import MARGIN_MEANING

    e = escape
    body = []
    for a, m in rows:
        price = '<span class="muted">unpriced</span>' if m.price is None else e(_usd_price(Decimal(m.price)))
        haircut = '<span class="muted">–</span>' if m.haircut is None else e(_percent(m.haircut))
        net_usd = m.usd(m.net_units, a.decimals)
        note = (' <span class="muted" title="customers owe more than they hold: no reserves needed">'
                "(owed to the exchange)</span>") if m.net_units < 0 else ""
        body.append(
            f'<tr data-asset="{e(a.asset)}" data-net="{m.net_units}"><td><b>{e(a.asset)}</b></td>'
            f"<td class=num>{_signed_amount(m.equity_units, a.decimals)}</td>"
            f"<td class=num>{_signed_amount(m.debt_units, a.decimals)}</td>"
            f"<td class=num>{_signed_amount(m.net_units, a.decimals)}{note}</td>"
            f"<td class=num><b>{_signed_amount(m.required_units, a.decimals)}</b></td>"
            f"<td class=num>{price}</td><td class=num>{haircut}</td>"
            f"<td class=num>{'–' if net_usd is None else _cents(net_usd)}</td></tr>"
        )
    tot = rep.margin_usd_totals
    body.append('<tr><td><b>Total</b></td><td></td><td></td><td></td><td></td><td></td><td></td>'
                f'<td class=num id="margin-net-usd"><b>{_cents(tot["net"])}</b></td></tr>')
    return [
        '<section id="margin" class="card"><h2>Held, owed and net</h2>'
        f"<p>{e(MARGIN_MEANING)}</p>"
        f'<p id="margin-usd">At the statement\'s prices customers hold <b>{_cents(tot["equity"])}</b> and owe '
        f'<b>{_cents(tot["debt"])}</b>: the exchange owes them <b>{_cents(tot["net"])}</b> net.</p>'
        "<table><thead><tr><th>Asset</th><th class=num>Held (equity)</th><th class=num>Owed (debt)</th>"
        "<th class=num>Net (held − owed)</th><th class=num>Reserves needed</th><th class=num>Price (USD)</th>"
        "<th class=num>Haircut</th><th class=num>Net (USD)</th></tr></thead>"
        f'<tbody>{"".join(body)}</tbody></table>'
        '<p class="muted">Totals are exact, from the verified liabilities proof. Prices and haircuts are the '
        "statement's own, under its fingerprint: the proof checked every borrower's collateral with them "
        f"(values in units of 10<sup>−{rep.statement.value_unit_exp}</sup> USD, collateral rounded down and debt "
        "rounded up). USD values are at these prices, to the cent for display; the JSON report keeps them "
        "exact.</p></section>"
    ]


_CHECK_CLASS = {"matches": "ok", "differs": "bad", "not_checked": "muted"}


def _block_note(w) -> str:
    if w.reading is None:
        return ""
    r = w.reading
    when = datetime.fromtimestamp(r.block_time, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return (f'<div class="muted mono" title="block hash">{escape(r.block_hash)}</div>'
            f'<div class="muted">{escape(when)} · {escape(r.node)}</div>')


def _fact(big: str, small: str) -> str:
    return f'<div class="fact"><b>{escape(big)}</b><span>{escape(small)}</span></div>'


def _png_size(png: bytes):
    # IHDR: 8-byte signature, 4-byte length, "IHDR", then width and height (big endian).
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


# ---------------------------------------------------------------------------------- history

_SERIES = ("#1f5aa6", "#c2410c", "#7c3aed", "#0f766e", "#b45309", "#be185d", "#4d7c0f", "#334155")


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=120)
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def history_ratio_png(hist) -> bytes:
    """Each asset's reserve ratio per round (lines), against the dashed 100% line."""
    from matplotlib.ticker import PercentFormatter

    fig = _figure(8, 4.2)
    ax = fig.add_subplot()
    x = list(range(len(hist.rounds)))
    top = 150.0
    for i, (name, ratios) in enumerate(hist.ratios().items()):
        ys = [None if r is None else float(r * 100) for r in ratios]
        top = max(top, min(max((y for y in ys if y is not None), default=0.0), 300.0))
        ax.plot(x, [float("nan") if y is None else min(y, 300.0) for y in ys], marker="o", markersize=4,
                linewidth=1.6, color=_SERIES[i % len(_SERIES)], label=name)
    ax.axhline(100, color=_FAIL, linestyle="--", linewidth=1.2)
    ax.text(x[-1] if x else 0, 100, "100% = fully covered ", ha="right", va="bottom", fontsize=8.5, color=_FAIL)
    ax.set_ylim(0, top * 1.1)
    ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.set_xticks(x, [r.round_id for r in hist.rounds], rotation=30 if len(x) > 6 else 0, fontsize=8.5)
    ax.set_ylabel("verified reserves ÷ liabilities", fontsize=9.5, color=_INK)
    ax.grid(axis="y", color=_LINE)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(fontsize=8.5, ncol=min(len(hist.asset_names), 6) or 1, loc="lower left", frameon=False)
    return _png(fig)


def history_usd_png(hist) -> bytes:
    """Total verified reserves and liabilities in USD per priced round."""
    fig = _figure(8, 3.4)
    ax = fig.add_subplot()
    pts = [(i, r.usd) for i, r in enumerate(hist.rounds) if r.usd is not None]
    xs = [i for i, _ in pts]
    ax.plot(xs, [float(u["verified_reserves"]) for _, u in pts], marker="o", color=_PASS, label="verified reserves")
    ax.plot(xs, [float(u["liabilities"]) for _, u in pts], marker="s", color=_INK, linestyle="--",
            label="liabilities")
    ax.set_xticks(range(len(hist.rounds)), [r.round_id for r in hist.rounds], fontsize=8.5)
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(lambda v, _: f"${v:,.0f}")
    ax.set_ylabel("USD", fontsize=9.5, color=_INK)
    ax.grid(axis="y", color=_LINE)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(fontsize=8.5, frameon=False)
    if not pts:
        ax.text(0.5, 0.5, "no round was valued in USD", transform=ax.transAxes, ha="center", color=_INK)
    return _png(fig)


def _img(png: bytes, ident: str, alt: str) -> str:
    w, h = _png_size(png)
    data = base64.b64encode(png).decode("ascii")
    return (f'<img class="chart" id="{ident}" width="{w}" height="{h}" alt="{escape(alt)}" '
            f'src="data:image/png;base64,{data}">')


def history_page(hist) -> str:
    e = escape
    n = len(hist.rounds)
    passed = sum(r.passed for r in hist.rounds)
    streak, first, last = hist.longest_streak
    latest = hist.rounds[-1]
    cls = "pass" if latest.passed else "fail"
    span = f"{e(hist.rounds[0].round_id)} to {e(latest.round_id)}" if n > 1 else e(latest.round_id)
    streak_text = (f"{streak} round{'s' if streak != 1 else ''} ({e(first)}" +
                   (f" to {e(last)})" if streak > 1 else ")")) if streak else "none"
    rows = []
    for r in hist.rounds:
        result = '<span class="ok">✓ PASS</span>' if r.passed else '<span class="bad">✗ FAIL</span>'
        usd = r.usd
        money = ("<td class=num>" + _cents(usd["liabilities"]) + "</td><td class=num>" +
                 _cents(usd["verified_reserves"]) + "</td>") if usd else '<td class="muted">–</td><td class="muted">–</td>'
        rows.append(
            f'<tr data-passed="{str(r.passed).lower()}"><td class=nowrap><b>{e(r.round_id)}</b></td>'
            f"<td class=num>{len(r.covered)} / {len(r.owed)}</td>{money}"
            f'<td class="mono">{e(r.fingerprint[:16])}…</td><td class="muted">{e(r.balances_basis)}</td>'
            f"<td class=nowrap>{result}</td></tr>"
        )
    ratio_alt = "Reserve ratio per asset over the rounds: " + "; ".join(
        f"{name} " + ", ".join("–" if r is None else f"{r * 100:.2f}%" for r in ratios)
        for name, ratios in hist.ratios().items())
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(hist.exchange)} — proof of reserves track record</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f'<p class="kicker">Proof of reserves · track record · {span}</p>',
        f"<h1>{e(hist.exchange)}</h1>",
        f'<section id="verdict" class="verdict {cls}" data-streak="{streak}">',
        f'<div class="word">{passed} of {n} rounds fully covered</div>'
        f"<p>Longest run of fully covered rounds: {streak_text}. Latest round {e(latest.round_id)}: "
        f'{"every asset covered" if latest.passed else "not every asset covered"}.</p></section>',
        '<div class="facts">',
        _fact(f"{streak}", "longest streak of full coverage (rounds)"),
        _fact(f"{hist.current_streak}", "fully covered rounds in a row, to the latest"),
        _fact(f"{len(latest.covered)} / {len(latest.owed)}", "assets covered in the latest round"),
        _fact(f"{n}", "rounds, each bound to its statement fingerprint"),
        "</div>",
        f'<section id="ratios" class="card"><h2>Reserve ratio per asset</h2>'
        f'{_img(history_ratio_png(hist), "ratio-history", ratio_alt)}</section>',
        f'<section id="usd" class="card"><h2>Reserves and liabilities in US dollars</h2>'
        f'{_img(history_usd_png(hist), "usd-history", "Total verified reserves and liabilities in USD per round")}'
        "</section>",
        '<section id="rounds" class="card"><h2>Rounds</h2><table><thead><tr><th>Round</th>'
        "<th class=num>Assets covered</th><th class=num>Liabilities (USD)</th><th class=num>Reserves (USD)</th>"
        "<th>Statement fingerprint</th><th>Balances</th><th>Result</th></tr></thead>"
        f'<tbody>{"".join(rows)}</tbody></table></section>',
        '<section id="method" class="card"><h2>What was checked</h2><p>Each round\'s JSON report was re-read: '
        "its statement fingerprint recomputed from its round id, root and totals, its ratios and USD figures "
        "from its exact amounts and prices. Reports of another exchange or a round given twice are refused. "
        "Signatures and balances are as each report found them.</p></section>",
        f"<footer>Generated by stark-por {e(__version__)}.</footer></main></body></html>",
    ]
    return "\n".join(parts) + "\n"
