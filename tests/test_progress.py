"""stark_por.progress: text and JSON progress, throttling, ETA, quiet, thread safety.

Every test drives a fake clock; none sleeps or times real work.
"""

from __future__ import annotations

import io
import json
import re
import threading

import pytest

from stark_por.cli import main
from stark_por.progress import Reporter, format_duration, format_rate


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += seconds


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def records(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.parametrize(
    "seconds, text",
    [(0, "0.0s"), (12.34, "12.3s"), (59.94, "59.9s"), (59.96, "1m00s"), (185, "3m05s"),
     (3599.4, "59m59s"), (3600, "1h00m"), (3720, "1h02m"), (-1, "0.0s"), (float("nan"), "0.0s")],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_format_rate():
    assert format_rate(12.34) == "12.3/s"
    assert format_rate(12345.6) == "12,346/s"
    assert format_rate(0.05) == "3.0/min"


def test_tty_bar_shows_percent_count_rate_and_eta():
    out, clock = Tty(), FakeClock()
    rep = Reporter(stream=out, clock=clock)
    with rep.bar("proving", 4096, unit="batches") as bar:
        clock.tick(100)
        bar.advance(1234)
    drawn = out.getvalue().split("\r")
    # 1,234 in 100 s: 12.3/s, 2,862 left: 232 s.
    assert any(re.search(r"proving  \[#{6}\.{14}\]   30%  1,234/4,096 batches  12\.3/s  ETA 3m52s", d)
               for d in drawn), drawn
    # The final line is drawn over the bar, padded to cover it.
    assert drawn[-1].endswith("\n") and drawn[-1].rstrip() == "✓ proving: 1,234/4,096 batches in 1m40s, 12.3/s"
    assert len(drawn[-1]) > len(drawn[-2])


def test_tty_redraws_at_most_five_times_a_second():
    out, clock = Tty(), FakeClock()
    rep = Reporter(stream=out, clock=clock)
    with rep.bar("hashing", 1000) as bar:
        for _ in range(100):  # 100 units in 1 s
            clock.tick(0.01)
            bar.advance()
    draws = out.getvalue().count("\r") - 1  # the last \r starts the final line
    assert 1 + 4 <= draws <= 1 + 5  # the opening draw, then one per 0.2 s


def test_unknown_total_shows_count_and_rate_only():
    out, clock = Tty(), FakeClock()
    rep = Reporter(stream=out, clock=clock)
    with rep.bar("reading", None, unit="users") as bar:
        clock.tick(2)
        bar.advance(500)
    assert "\rreading  500 users  250/s" in out.getvalue()
    assert "%" not in out.getvalue() and "ETA" not in out.getvalue()
    assert out.getvalue().split("\r")[-1].rstrip() == "✓ reading: 500 users in 2.0s, 250/s"


def test_eta_uses_the_rate_over_the_whole_run():
    clock = FakeClock()
    rep = Reporter(stream=io.StringIO(), clock=clock)
    with rep.bar("b", 100) as bar:
        assert bar.eta() is None and bar.rate() is None  # nothing done yet
        clock.tick(10)
        bar.advance(20)
        assert bar.rate() == pytest.approx(2.0)
        assert bar.eta() == pytest.approx(40.0)
        clock.tick(30)  # a stall lowers the rate: 20 in 40 s
        assert bar.eta() == pytest.approx(160.0)
        bar.set_total(None)
        assert bar.eta() is None
        bar.set_total(20)
        assert bar.eta() == 0


def test_pipe_gets_a_line_every_ten_seconds_and_a_final_line():
    out, clock = io.StringIO(), FakeClock()
    rep = Reporter(stream=out, clock=clock)
    with rep.bar("proving", 200, unit="batches") as bar:
        for _ in range(200):  # one batch every 1/8 s, 25 s in all
            clock.tick(0.125)
            bar.advance()
    assert "\r" not in out.getvalue() and "[" not in out.getvalue()
    assert out.getvalue().splitlines() == [
        "proving   40%  80/200 batches  8.0/s  ETA 15.0s",
        "proving   80%  160/200 batches  8.0/s  ETA 5.0s",
        "✓ proving: 200/200 batches in 25.0s, 8.0/s",
    ]


def test_json_records_parse_and_carry_the_fields():
    out, clock = Tty(), FakeClock()  # json never draws in place, TTY or not
    rep = Reporter("json", stream=out, clock=clock)
    rep.info("loaded", event="ledger_loaded", users=3, path=io)  # a non-JSON value becomes text
    rep.warn("slow disk")
    with rep.step("proving"):
        with rep.bar("proving", 8, unit="batches") as bar:
            clock.tick(12)
            bar.advance(4)
            bar.advance(1)  # throttled: within 10 s of the last record
    got = records(out)
    assert [r["event"] for r in got] == ["ledger_loaded", "warning", "step_start", "progress",
                                          "progress_end", "step_end"]
    for r in got:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["ts"])
    assert got[0]["level"] == "info" and got[0]["message"] == "loaded" and got[0]["users"] == 3
    assert isinstance(got[0]["path"], str)
    assert got[1]["level"] == "warning"
    progress = got[3]
    assert {k: progress[k] for k in ("label", "done", "total", "unit")} == \
        {"label": "proving", "done": 4, "total": 8, "unit": "batches"}
    assert progress["rate"] == pytest.approx(1 / 3, abs=1e-3) and progress["eta_s"] == 12.0
    end = got[4]
    assert end["done"] == 5 and end["seconds"] == 12.0 and end["ok"] is True and "eta_s" not in end
    assert got[5]["seconds"] == 12.0 and got[5]["ok"] is True and got[5]["label"] == "proving"


def test_a_failing_block_is_marked():
    out, clock = io.StringIO(), FakeClock()
    rep = Reporter("json", stream=out, clock=clock)
    with pytest.raises(RuntimeError):
        with rep.step("verifying"):
            raise RuntimeError
    with pytest.raises(RuntimeError):
        with rep.bar("b", 2):
            raise RuntimeError
    assert [r["ok"] for r in records(out) if r["event"].endswith("_end")] == [False, False]
    text = io.StringIO()
    with pytest.raises(RuntimeError):
        with Reporter(stream=text, clock=clock).step("verifying"):
            raise RuntimeError
    assert text.getvalue() == "✗ verifying (0.0s)\n"


@pytest.mark.parametrize("mode", ["text", "json"])
def test_quiet_prints_nothing(mode):
    out, clock = Tty(), FakeClock()
    rep = Reporter(mode, quiet=True, stream=out, clock=clock)
    rep.info("x")
    rep.warn("y")
    with rep.step("s"):
        with rep.bar("b", 10) as bar:
            clock.tick(60)
            bar.advance(10)
    assert bar.done == 10
    assert out.getvalue() == ""


def test_advance_from_many_threads_counts_exactly():
    rep = Reporter(stream=Tty())  # the real clock: redraws race with the counting
    with rep.bar("b", 8 * 5000) as bar:
        def work() -> None:
            for _ in range(5000):
                bar.advance()

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert bar.done == 8 * 5000


def test_info_on_a_tty_replaces_the_bar_line():
    out, clock = Tty(), FakeClock()
    rep = Reporter(stream=out, clock=clock)
    with rep.bar("b", 10) as bar:
        rep.info("note")
        bar.advance()
    bar_line, note = out.getvalue().split("\n")[0].split("\r")[1:]
    assert note.rstrip(" ") == "note" and len(note) == len(bar_line)


def test_cli_log_format_json(tmp_path, capsys):
    (tmp_path / "ledger.csv").write_text("user_id,BTC\nalice,0.5\nbob,2\n")
    (tmp_path / "ledger.assets.csv").write_text("asset,decimals\nBTC,8\n")
    (tmp_path / "master.key").write_bytes(b"s" * 32)
    argv = ["--log-format", "json", "prove", str(tmp_path / "ledger.csv"), "-o", str(tmp_path / "r.stpor"),
            "--round-id", "r1", "--secret-file", str(tmp_path / "master.key")]
    assert main(argv) == 0
    got = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [r["event"] for r in got if r["event"].startswith("step")] == ["step_start", "step_end"] * 2
