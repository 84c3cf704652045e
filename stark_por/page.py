"""The inclusion page: one self-contained HTML file on which every user checks their inclusion.

    >>> statement = stark_por.verify("2026-11.stpor")
    >>> stark_por.page.write_page(statement, "verify.html")      # CLI: stark-por page ROUND.stpor -o verify.html

The exchange hosts the file (or hands it out); a user opens it, types their user id, picks the
inclusion proof the exchange gave them, and the page says INCLUDED with their exact balances or
NOT VERIFIED with the reason code. The check is the browser verifier
``stark_por/verifiers/browser.js`` (a third, independent implementation of the hashes and the
check), run against the round's **verified** summary embedded in the page. The page shows the
round's statement fingerprint: the user compares it with the one the exchange and its auditors
published, which ties the page to the round they vouched for.

The page loads nothing and can send nothing: its Content-Security-Policy is ``default-src
'none'`` plus the SHA-256 hashes of its one inline script and one inline style, computed here.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
from importlib.resources import files
from pathlib import Path
from typing import Union

from ._files import atomic_write
from .errors import UnverifiedStatementError
from .proof import Statement

__all__ = ["render_page", "write_page"]

PathLike = Union[str, "os.PathLike[str]"]

_VERIFIERS = files(__package__).joinpath("verifiers")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def _json_for_script(doc: dict) -> str:
    """JSON that cannot end its ``<script>`` element early nor be read as markup."""
    text = json.dumps(doc, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _require_verified(statement) -> Statement:
    if not isinstance(statement, Statement) or not statement.verified:
        raise UnverifiedStatementError(
            "the inclusion page vouches for its round: it needs the Statement returned by stark_por.verify(), "
            f"not {'one read, built or changed without verification' if isinstance(statement, Statement) else type(statement).__name__}"
        )
    return statement


def render_page(statement: Statement) -> str:
    """The page's HTML for a verified ``statement`` (see :func:`write_page`)."""
    summary = _require_verified(statement).summary()
    template = _VERIFIERS.joinpath("page.html").read_text(encoding="utf-8")
    script = _VERIFIERS.joinpath("browser.js").read_text(encoding="utf-8")
    if "</script" in script.lower():
        raise AssertionError("browser.js must not contain '</script'")
    style = re.search(r"<style>(.*?)</style>", template, re.S)
    assert style is not None and template.count("<style>") == 1
    csp = "; ".join([
        "default-src 'none'",
        f"script-src {_csp_hash(script)}",
        f"style-src {_csp_hash(style.group(1))}",
        "base-uri 'none'",
        "form-action 'none'",
    ])
    values = {
        "{{CSP}}": csp,
        "{{ROUND_ID}}": html.escape(statement.round_id),
        "{{SUMMARY}}": _json_for_script(summary),
        "{{SCRIPT}}": script,
    }
    # one pass, so nothing inserted (the round id, the script) is ever read as a placeholder
    return re.sub(r"\{\{[A-Z_]+\}\}", lambda m: values[m.group(0)], template)


def write_page(statement: Statement, path: PathLike) -> Path:
    """Writes the inclusion page of a verified ``statement`` to ``path``, atomically.

    ``statement`` must be the one :func:`stark_por.verify` returned (else
    :class:`~stark_por.UnverifiedStatementError`): the page vouches for its round summary."""
    path = Path(path)
    atomic_write(path, render_page(statement).encode("utf-8"))
    return path
