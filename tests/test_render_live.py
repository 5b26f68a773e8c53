"""The training display: the live screen in a real pseudo-terminal, plain lines when piped,
silence with --progress none, and the stored curves in `nncli show` and `--plot`."""

import contextlib
import fcntl
import io
import json
import math
import os
import random
import pty
import re
import select
import signal
import subprocess
import struct
import sys
import termios
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from rich.cells import cell_len
from rich.console import Console
from rich.live_render import LiveRender

from conftest import ROOT, SAMPLES
from nncli.core.training import EpochStats
from nncli.errors import NncliError
from nncli.stop_signals import STOPS, Terminated
from nncli.model_file import load_model
from nncli.render_live import MAX_RATE, MAX_SHARE, History, Pacer, TrainingScreen

MOONS = SAMPLES / "moons.csv"
BRAILLE = re.compile("[\u2801-\u28ff]")
CSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
CURSOR_UP_ERASE = "\x1b[1A\x1b[2K"


def nncli_env(**extra: str) -> dict:
    """The test's environment for a child nncli, with colour allowed and a real terminal type."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "NNCLI_DEBUG")}
    return {**env, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color", **extra}


def run_in_pty(args: list[str], columns: int, lines: int, interrupt_after: str | None = None,
               env: dict | None = None, typed: tuple[str, bytes] | None = None,
               window: bool = False) -> tuple[int, str]:
    """Run `python -m nncli ARGS` with a pseudo-terminal as stdin, stdout and stderr.

    Reads everything it writes until it exits; with `interrupt_after`, types Ctrl-C once
    that text has appeared and the line holding it has ended (without NOFLSH, which only the live
    screen sets, the terminal discards on Ctrl-C the output it holds unread: of 200 KB written at
    once, 4 KB arrived; under load, one run in ~100 of the notice test below failed, a line read in
    pieces); with `typed` (text, keys), types the keys once the text has appeared.
    The size is given as COLUMNS and LINES, or with `window` as the terminal's own (its window size).
    Returns (exit code, output).
    """
    size = {} if window else {"COLUMNS": str(columns), "LINES": str(lines)}
    env = nncli_env(**{**size, **(env or {})})
    pid, fd = pty.fork()
    if pid == 0:  # the child: exec at once, never return into pytest
        try:
            os.chdir(ROOT)
            if window:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
            # A terminal's Ctrl-C stops a foreground command: pytest started in a script's background job
            # (or under nohup) ignores SIGINT, nncli keeps an inherited SIG_IGN, and the ^C typed here would
            # never stop a run of a million epochs (the safety net below waits on silence, not time).
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.execve(sys.executable, [sys.executable, "-m", "nncli", *args], env)
        finally:
            os._exit(127)
    out = bytearray()
    sent = interrupt_after is None
    try:
        while True:
            if not select.select([fd], [], [], 120)[0]:  # a safety net against a hung child, not a timing test
                os.kill(pid, signal.SIGKILL)
                raise AssertionError(f"nncli wrote nothing for 120 s; so far:\n{out.decode(errors='replace')}")
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
            at = -1 if sent else out.find(interrupt_after.encode())
            if at >= 0 and b"\n" in out[at:]:
                os.write(fd, b"\x03")  # the terminal turns ^C into SIGINT for the child
                sent = True
            if typed is not None and typed[0].encode() in out:
                os.write(fd, typed[1])
                typed = None
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode("utf-8", "replace")


def visible_lines(output: str) -> list[str]:
    """The text of each write between line feeds and carriage returns, escape codes removed."""
    return [part for line in CSI.sub("", output).split("\n") for part in line.split("\r")]


@pytest.mark.parametrize("columns, env", [(12, {}), (19, {}), (80, {"COLUMNS": "120"})])
def test_a_window_narrower_than_the_screen_gets_plain_progress(tmp_path, columns, env):
    """The live screen is at least 20 columns wide (and as wide as an exported COLUMNS): in a narrower
    window its lines wrapped, and each redraw left the frame before it behind (a 10-column window:
    379 lines of stale frames)."""
    code, out = run_in_pty(["fit", str(MOONS), "-o", str(tmp_path / "m.npz"), "--epochs", "30", "--hidden", "8"],
                           columns=columns, lines=24, env=env, window=True)
    assert code == 0, out
    assert CURSOR_UP_ERASE not in out and "epoch=30 " in out
    code, out = run_in_pty(["fit", str(MOONS), "-o", str(tmp_path / "m.npz"), "--epochs", "30", "--hidden", "8"],
                           columns=100, lines=24, window=True)
    assert code == 0 and CURSOR_UP_ERASE in out  # (the window's own size, wide enough: the live screen)


@pytest.mark.parametrize("zero", ["LINES", "COLUMNS"])
def test_a_size_exported_as_0_means_the_window_s_own(tmp_path, zero):
    """LINES=0 (or COLUMNS=0) is the terminal's own size: Rich took LINES=0 literally, and the live
    screen had room for nothing but '...' for the whole run."""
    code, out = run_in_pty(["fit", str(MOONS), "-o", str(tmp_path / "m.npz"), "--epochs", "30", "--hidden", "8"],
                           columns=100, lines=30, env={zero: "0"}, window=True)
    assert code == 0, out
    frames = out[:out.rindex(CURSOR_UP_ERASE)]  # (all but the last frame)
    assert "epoch 0/30" in frames and BRAILLE.search(frames)  # the header and the chart, mid-run
    assert all(cell_len(line) <= 100 for line in visible_lines(out))


@pytest.mark.parametrize("columns", [40, 100])
def test_live_screen_in_a_terminal(tmp_path, columns):
    model = tmp_path / "m.npz"
    code, out = run_in_pty(["fit", str(MOONS), "-o", str(model), "--epochs", "30", "--hidden", "8", "--val-split", "0.1"],
                           columns=columns, lines=30)
    assert code == 0, out
    assert CURSOR_UP_ERASE in out  # frames were redrawn in place
    last_redraw = out.rindex(CURSOR_UP_ERASE)
    assert "epoch 0/30" in out[:last_redraw]  # the first frame, drawn before any epoch
    assert "epoch 30/30" in out
    # while the data is read, one line (not a blank screen), the path's end kept on a narrow one
    assert re.search(r"\x1b\[2mreading \S*moons\.csv…\x1b\[0m\r\n", out[:out.index("epoch 0/30")])
    final = out[last_redraw:]
    for text in ("best epoch", "epochs run", "30 of 30", "saved to", "validation"):
        assert text in final
    assert "m.npz" in "".join(visible_lines(final))  # the path folds on narrow screens, never cut
    assert BRAILLE.search(final)  # the final chart stays
    assert "\x1b[?25h" in final  # the cursor is shown again
    assert model.exists()
    assert all(cell_len(line) <= columns for line in visible_lines(out))


def test_ctrl_c_stops_after_the_batch_and_keeps_the_summary(tmp_path):
    model = tmp_path / "m.npz"
    code, out = run_in_pty(["fit", str(MOONS), "-o", str(model), "--epochs", "1000000", "--patience", "0",
                            "--hidden", "8", "--val-split", "0.1"], columns=80, lines=30, interrupt_after="best epoch")
    assert code == 130, out
    last_redraw = out.rindex(CURSOR_UP_ERASE)
    assert BRAILLE.search(out[:last_redraw])  # the frame that showed an epoch also held the chart
    final = out[last_redraw:]
    assert "stopped by interrupt" in final
    assert "(interrupted during the last)" in final and "saved to" in final  # (that epoch is cut short)
    assert "\x1b[?25h" in final  # the cursor is back
    assert model.exists()



def test_keys_typed_during_training_do_not_echo_into_the_screen(tmp_path):
    # Each Return typed moved the cursor under the live screen, which then redrew below a copy of its frame
    code, out = run_in_pty(["fit", str(MOONS), "-o", str(tmp_path / "m.npz"), "--epochs", "1000000", "--patience", "0",
                            "--hidden", "8"], columns=80, lines=30, typed=("waiting for the first epoch", b"zzz\rqq\r"),
                           interrupt_after="best epoch")
    assert code == 130 and "saved to" in out, out
    assert "zzz" not in out and "qq" not in out and "^C" not in out


@pytest.mark.parametrize("fails, background", [(False, None), (True, None), (False, "at the start"),
                                              (False, "from the second look")])
def test_the_terminal_echoes_again_once_the_live_screen_ends(monkeypatch, fails, background):
    # The terminal is the screen's (stdin may be a pipe: `fit -`). A process in the background leaves it
    # alone: changing it would stop the process (SIGTTOU); a `fit` put in the background with Ctrl-Z and
    # `bg` stopped so just before saving its model
    import threading

    from nncli import render_live

    leader, follower = pty.openpty()
    drained = threading.Thread(target=lambda: _drain(leader))  # (a full pty would block the frames)
    drained.start()
    monkeypatch.setattr(render_live, "is_terminal", lambda stream: True)
    looks = []

    def tcgetpgrp(fd):
        looks.append(fd)
        behind = background == "at the start" or (background == "from the second look" and len(looks) > 1)
        return os.getpgrp() + behind

    monkeypatch.setattr(os, "tcgetpgrp", tcgetpgrp)
    echoes = lambda: bool(termios.tcgetattr(follower)[3] & termios.ECHO)  # noqa: E731
    assert echoes()
    seen = []

    def epochs():
        seen.append(echoes())
        yield stats(1)
        if fails:
            raise NncliError("training diverged")

    try:
        with open(follower, "w", encoding="utf-8", closefd=False) as out:
            console = Console(file=out, width=100, height=30, force_terminal=True, color_system=None)
            with pytest.raises(NncliError) if fails else contextlib.nullcontext():
                render_live.run_live(epochs(), make_screen(0), console)
        assert seen == [background == "at the start"] and looks and set(looks) == {follower}
        assert echoes() == (background != "from the second look")  # (a job in the background: the shell's own)
    finally:
        os.close(follower)
        drained.join()
        os.close(leader)


def test_the_terminal_changes_hold_sigttou(monkeypatch):
    # Put in the background between the look at the foreground and the change, a process changing its
    # terminal is stopped by SIGTTOU (a `fit` before saving its model): held, the change goes through
    from nncli import render_live

    leader, follower = pty.openpty()
    monkeypatch.setattr(os, "tcgetpgrp", lambda fd: os.getpgrp())
    masks, real = [], termios.tcsetattr
    monkeypatch.setattr(termios, "tcsetattr", lambda fd, when, modes: (
        masks.append(signal.pthread_sigmask(signal.SIG_BLOCK, [])), real(fd, when, modes))[1])
    try:
        with open(follower, "w", encoding="utf-8", closefd=False) as out:
            render_live._keys_unechoed(out)()
        assert len(masks) == 2 and all(signal.SIGTTOU in m for m in masks)
        assert signal.SIGTTOU not in signal.pthread_sigmask(signal.SIG_BLOCK, [])  # (and released after)
    finally:
        os.close(follower)
        os.close(leader)


def _drain(fd: int) -> None:
    """Read a pty's output until its other side closes."""
    while True:
        try:
            if not os.read(fd, 65536):
                return
        except OSError:  # EIO: the other side closed
            return


def test_one_ctrl_d_ends_rows_typed_at_the_terminal(tmp_path):
    """The first read saw the Ctrl-D's end of input; the reads after it waited for a second one."""
    model = tmp_path / "m.npz"
    assert run_piped("fit", str(MOONS), "-o", str(model), "--epochs", "2", "--hidden", "4", "-q").returncode == 0
    code, out = run_in_pty(["predict", str(model)], columns=80, lines=24,
                           typed=("end with Ctrl-D", b"x1,x2\r0.5,0.2\r-1,0.1\r\x04"))  # Return is CR; the terminal reads LF
    assert code == 0, out
    printed = out[out.index("prediction"):].split()
    assert printed[0] == "prediction" and len(printed) == 3 and set(printed[1:]) <= {"0", "1"}, out


def test_plain_progress_on_a_terminal_has_no_escape_codes(tmp_path):
    code, out = run_in_pty(["fit", str(MOONS), "-o", str(tmp_path / "m.npz"), "--epochs", "3", "--hidden", "8",
                            "--progress", "plain"], columns=80, lines=24)
    assert code == 0, out
    assert "\x1b" not in out  # not even bold: the table header, the summary's path
    lines = out.splitlines()
    assert lines[0].split() == ["column", "kind", "missing", "categories"]
    assert any(line.startswith("epoch=3 loss=") for line in lines)
    assert "Model saved to " + str(tmp_path / "m.npz") in out


def test_a_terminal_without_the_chart_characters_gets_plain_progress(tmp_path):
    """In Latin-1 the braille and box characters print as `\\u28ff` escapes, six cells where Rich counts
    one: the live screen could no longer redraw itself, and scrolled away."""
    code, out = run_in_pty(["fit", str(MOONS), "-o", str(tmp_path / "m.npz"), "--epochs", "3", "--hidden", "8"],
                           columns=80, lines=24, env={"PYTHONIOENCODING": "latin-1"})
    assert code == 0, out
    assert "\\u" not in out and CURSOR_UP_ERASE not in out
    assert any(line.startswith("epoch=3 loss=") for line in out.splitlines())
    code, out = run_in_pty(["fit", str(MOONS), "-o", str(tmp_path / "m.npz"), "--epochs", "3", "--hidden", "8",
                            "--progress", "live"], columns=80, lines=24, env={"PYTHONIOENCODING": "latin-1"})
    assert code == 0 and "\\u" not in out and CURSOR_UP_ERASE not in out  # (asked for, it cannot be drawn either)
    assert "nncli: --progress live draws characters stderr's encoding (iso8859-1) lacks: plain progress instead " \
        "(PYTHONIOENCODING=utf-8 gives them)" in " ".join(out.split())
    assert any(line.startswith("epoch=3 loss=") for line in out.splitlines())
    shown = run_piped("show", str(tmp_path / "m.npz"), env={"PYTHONIOENCODING": "ascii"})
    assert shown.returncode == 0 and "\\u28" not in shown.stderr.decode()  # (braille; a `…` may show as \\u2026)
    assert "(no chart: stderr's encoding, ascii, lacks its characters;" in shown.stderr.decode()


def run_piped(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """nncli with stdout and stderr as pipes, in an environment that would allow colour."""
    return subprocess.run([sys.executable, "-m", "nncli", *args], capture_output=True, timeout=120,
                          env=nncli_env(**(env or {})), cwd=ROOT)


@pytest.mark.parametrize("progress", ["auto", "plain", "live"])
def test_no_escape_codes_when_stderr_is_not_a_terminal(tmp_path, progress):
    r = run_piped("fit", str(MOONS), "-o", str(tmp_path / "m.npz"), "--epochs", "40", "--hidden", "8", "--val-split", "0.1",
                  "--progress", progress)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b""
    assert b"\x1b" not in r.stderr
    err = r.stderr.decode()
    assert "saved" in err and "m.npz" in re.sub(r" *\n *", "", err)  # (a long temporary path folds: m.np / z)
    if progress != "live":
        lines = [line for line in err.splitlines() if line.startswith("epoch=")]
        assert lines[0].startswith("epoch=1 loss=") and " val_loss=" in lines[0] and " acc=" in lines[0]
        assert lines[-1].startswith("epoch=40 ")
        assert len(lines) <= 31


@pytest.mark.parametrize("variable", ["FORCE_COLOR", "TTY_COMPATIBLE"])
def test_forced_colour_writes_the_last_frame_alone_off_a_terminal(tmp_path, variable):
    # Rich takes a file for a terminal under these: --progress live wrote every frame into it, with
    # the codes that move the cursor back over them
    r = run_piped("fit", str(MOONS), "-o", str(tmp_path / "m.npz"), "--epochs", "40", "--hidden", "8",
                  "--progress", "live", env={variable: "1"})
    assert r.returncode == 0, r.stderr
    text = re.sub(r"\x1b\[[0-9;]*m", "", r.stderr.decode())  # colour, which they ask for, and nothing else
    assert "\x1b" not in text and text.count("epoch 40/40") == 1 and "saved" in text


def test_json_summary_is_the_only_stdout(tmp_path):
    r = run_piped("fit", str(MOONS), "-o", str(tmp_path / "m.npz"), "--epochs", "3", "--json")
    assert r.returncode == 0, r.stderr
    assert b"\x1b" not in r.stderr
    summary = json.loads(r.stdout)  # exactly one JSON document
    assert summary["epochs_run"] == 3 and summary["model"].endswith("m.npz") and summary["task"] == "classification"
    assert summary["metric"] == "accuracy" and 0.5 < summary["final_metric"] <= 1  # (which metric it is: said)


@pytest.mark.parametrize("flag", [["--progress", "none"], ["--quiet"]])
def test_nothing_but_errors_without_progress(tmp_path, flag):
    r = run_piped("fit", str(MOONS), "-o", str(tmp_path / "m.npz"), "--epochs", "3", *flag)
    assert r.returncode == 0
    assert r.stdout == b"" and r.stderr == b""
    assert (tmp_path / "m.npz").exists()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    path = tmp_path_factory.mktemp("show") / "m.npz"
    r = run_piped("fit", str(MOONS), "-o", str(path), "--epochs", "12", "--hidden", "8", "--val-split", "0.1", "--progress", "none")
    assert r.returncode == 0, r.stderr
    return path


def test_show_redraws_the_stored_curves(trained):
    r = run_piped("show", str(trained), env={"COLUMNS": "70"})
    assert r.returncode == 0, r.stderr
    assert r.stdout == b""
    err = r.stderr.decode()
    assert BRAILLE.search(err)
    meta = json.loads(run_piped("show", str(trained), "--json").stdout)
    assert f"▲ epoch {meta['info']['weights_from_epoch']}" in err
    assert "━ train" in err and "validation" in err


def test_show_plot_writes_one_path_per_curve(trained, tmp_path):
    svg = tmp_path / "curves.svg"
    r = run_piped("show", str(trained), "--plot", str(svg))
    assert r.returncode == 0, r.stderr
    root = ET.parse(svg).getroot()
    names = [p.get("data-name") for p in root.iter("{http://www.w3.org/2000/svg}path") if p.get("class") == "series"]
    assert names == ["train", "validation"]


# -- the screen and its pacing, without a process ----------------------------------------------------
def stats(epoch: int, val: bool = True, stopped: str | None = None,
          partial: bool = False) -> EpochStats:
    loss = 1 / (1 + epoch)
    return EpochStats(epoch=epoch, loss=loss, metric=0.5 + epoch / 200, val_loss=loss * 1.1 if val else None,
                      val_metric=0.5 if val else None, lr=1e-3, seconds=0.01, samples=900,
                      best_epoch=epoch, stopped=stopped, partial=partial)


def screen_lines(screen: TrainingScreen, width: int, height: int) -> list[str]:
    console = Console(file=io.StringIO(), width=width, height=height, record=True, force_terminal=True,
                      color_system="truecolor")
    console.print(screen)
    return console.export_text().splitlines()


def make_screen(epochs_done: int, val: bool = True) -> TrainingScreen:
    from rich.text import Text

    screen = TrainingScreen([Text("data   some/long/path/to/a/file.csv · 900 rows × 2 features · classification"),
                             Text("model  mlp 2-64-64-1 · relu · 4,417 parameters")], 50, "acc")
    for e in range(1, epochs_done + 1):
        screen.add(stats(e, val=val))
    return screen


@pytest.mark.parametrize("width, height", [(40, 24), (80, 24), (120, 40), (40, 16)])
def test_the_screen_fits_the_window_it_is_drawn_in(width, height):
    screen = make_screen(20)
    lines = screen_lines(screen, width, height)
    assert all(cell_len(line) <= width for line in lines)
    assert len(lines) <= height
    assert any(BRAILLE.search(line) for line in lines)
    assert any("epoch 20/50" in line for line in lines)


def live_frame(screen: TrainingScreen, width: int, height: int) -> list[str]:
    """The frame as Live draws it: what does not fit the window's height is cut, ending in `...`."""
    console = Console(file=io.StringIO(), width=width, height=height, record=True, force_terminal=True,
                      color_system="truecolor")
    console.print(LiveRender(screen, vertical_overflow="ellipsis"))
    return console.export_text().splitlines()


# What a window too short for the whole screen gives up, in this order; the numbers stay.
GIVEN_UP_FIRST = {"chart": BRAILLE.pattern, "train line": "^train  adam", "model line": "^model  mlp",
                  "data line": "^data   some", "elapsed and eta": "^elapsed", "progress bar": "^epoch 20/50"}


@pytest.mark.parametrize("width", [40, 80])
def test_a_short_window_gives_up_the_chart_then_the_header_never_the_numbers(width):
    from rich.text import Text

    screen = make_screen(20)
    screen.header.append(Text("train  adam · lr 0.001 · batch 32 · up to 50 epochs"))
    tall = live_frame(screen, width, 60)
    assert all(any(re.search(p, line) for line in tall) for p in GIVEN_UP_FIRST.values())
    numbers = len([line for line in tall if re.search("loss 0.04762|lr 0.001$", line)])  # 1 line, 2 when narrow
    for height in range(numbers + 1, 40):
        lines = live_frame(screen, width, height)
        assert len(lines) <= height and "..." not in lines[-1]
        assert "best epoch 20" in " ".join(" ".join(lines).split())
        shown = [any(re.search(p, line) for line in lines) for p in GIVEN_UP_FIRST.values()]
        assert shown == sorted(shown), (height, lines)  # each part only once everything given up before it is
        assert shown[-1]  # the progress bar: one line above the numbers is enough
    short = live_frame(screen, width, 12)
    assert not any(BRAILLE.search(line) for line in short) and any(line.startswith("model  mlp") for line in short)



@pytest.mark.parametrize("width", range(20, 61))
def test_a_narrow_window_breaks_the_numbers_between_facts_never_in_one(width):
    # Rich wrapped the numbers line at any space: `val` at a line's end, `loss 0.1` below it
    screen = make_screen(7)
    screen.add(EpochStats(epoch=1234, loss=0.12345, metric=0.95, val_loss=0.234567, val_metric=0.875,
                          lr=1.5e-3, seconds=0.01, samples=900, best_epoch=1200, stopped=None, partial=False))
    lines = screen_lines(screen, width, 60)
    assert all(cell_len(line) <= width for line in lines)
    numbers = lines[lines.index(next(line for line in lines if line.startswith("loss 0.1235"))):]
    facts = ["loss 0.1235", "val loss 0.2346", "acc 0.95", "val acc 0.875", "best epoch 1200", "lr 0.0015"]
    assert [f.strip() for line in numbers for f in line.split("  ") if f.strip()] == facts
    first = lines.index(next(line for line in lines if line.startswith("elapsed")))
    end = next(i for i in range(first, len(lines)) if lines[i].startswith("loss"))  # the chart, or the numbers
    facts = [f for line in lines[first:end] for f in line.split(" · ")]
    assert len(facts) == 3 and all(re.fullmatch(r"elapsed [0-9:]+|eta [0-9:]+|[0-9.]+[kM]? samples/s", f) for f in facts)


def test_the_screen_follows_a_resize():
    screen = make_screen(20)
    narrow, wide = screen_lines(screen, 40, 30), screen_lines(screen, 120, 30)
    assert max(map(cell_len, narrow)) <= 40 < max(map(cell_len, wide))
    # In one console, as a terminal is resized under a live screen (the header's lines are kept between
    # frames, and laid out again for a new width)
    console = Console(file=io.StringIO(), width=120, height=30, record=True, force_terminal=True)
    data_line = screen.header[0].plain
    for width in (120, 40, 120):
        console.width = width
        console.print(screen)
        lines = console.export_text().splitlines()
        assert max(map(cell_len, lines)) <= width and (data_line in lines) == (width == 120)
        assert "· classification" in "\n".join(lines)  # wrapped, not cut


def test_the_screen_shows_metric_best_epoch_and_lr():
    text = "\n".join(screen_lines(make_screen(7), 100, 30))
    assert "acc 0.535" in text and "best epoch 7" in text and "lr 0.001" in text and "eta" in text
    assert "━ train" in text and "validation" in text


def test_an_epoch_under_way_moves_the_bar_and_the_clock():
    # The screen redrew at epochs' ends only: through a long first epoch it said "waiting for the first
    # epoch…" with the clock stopped
    screen = make_screen(0)
    screen.rows, screen.n_rows = 2500, 10000
    text = "\n".join(screen_lines(screen, 100, 30))
    assert "waiting for the first epoch… (25% of its rows)" in text and " 0%" in text.splitlines()[2]
    assert "eta" in text
    screen = make_screen(10)
    screen.rows, screen.n_rows = 5000, 10000
    bar = next(line for line in screen_lines(screen, 100, 30) if line.startswith("epoch 10/50"))
    assert bar.endswith(" 21%") and bar.count("━") == int((100 - len("epoch 10/50  21%")) * 10.5 / 50)
    screen.add(stats(11))
    bar = next(line for line in screen_lines(screen, 100, 30) if line.startswith("epoch 11/50"))
    assert bar.endswith(" 22%")  # the next epoch starts at its beginning


def test_an_epoch_under_way_counts_in_the_eta_and_the_throughput(monkeypatch):
    """The ETA left out the part of the epoch under way (10 epochs and a half done was taken for 10), and
    the samples/s left out its rows: through a long first epoch no throughput was shown at all."""
    from types import SimpleNamespace

    from nncli import render_live
    from nncli.render_live import clock, rate

    monkeypatch.setattr(render_live, "time", SimpleNamespace(perf_counter=lambda: 1000.0))  # (a clock that waits)
    screen = make_screen(10)
    screen.rows, screen.n_rows = 5000, 10000
    screen.started = 1000.0 - 105.0  # 105 s for 10.5 epochs: 10 s an epoch
    facts = next(line for line in screen_lines(screen, 100, 30) if line.startswith("elapsed"))
    assert f"eta {clock(105.0 / 10.5 * (50 - 10.5))}" in facts
    assert f"{rate((10 * 900 + 5000) / 105.0)} samples/s" in facts
    first = make_screen(0)
    first.rows, first.n_rows = 2500, 10000
    first.started = 1000.0 - 10.0
    facts = next(line for line in screen_lines(first, 100, 30) if line.startswith("elapsed"))
    assert f"{rate(2500 / 10.0)} samples/s" in facts


def test_the_final_frame_gives_no_eta():
    """The last frame of a finished run said `eta 0:00`, as if training had some way to go."""
    screen = make_screen(50)
    screen.finished = screen.started + 5.0
    facts = next(line for line in screen_lines(screen, 100, 30) if line.startswith("elapsed"))
    assert "elapsed 0:05" in facts and "eta" not in facts


def test_throughput_reads_in_thousands_and_millions():
    """A rate of 4.1 million samples a second read `4100.0k`, and 1,000 read `1000` beside `1.0k` for 1,001."""
    from nncli.render_live import rate

    assert [rate(v) for v in (12, 950, 999.4)] == ["12", "950", "999"]
    assert [rate(v) for v in (1000, 12345, 999_000)] == ["1.0k", "12.3k", "999.0k"]
    assert [rate(v) for v in (1e6, 4.1e6)] == ["1.0M", "4.1M"]


def test_a_regression_screen_labels_its_metric_r2():
    """A regression's R² was labelled `acc` on the live screen, beside its validation value."""
    from rich.text import Text

    screen = TrainingScreen([Text("data   d.csv")], 50, "r2")
    screen.add(stats(7))
    text = "\n".join(screen_lines(screen, 100, 30))
    assert f"R² {stats(7).metric:.4g}" in text and f"val R² {stats(7).val_metric:.4g}" in text and "acc" not in text


def test_the_live_chart_marks_the_best_epoch():
    """The chart's ▲ and `▲ epoch N` in its legend (the epoch the weights will come from) went missing."""
    import dataclasses

    screen = make_screen(0)
    for e in range(1, 21):
        screen.add(dataclasses.replace(stats(e), best_epoch=min(e, 12)))
    lines = screen_lines(screen, 100, 40)
    assert any(line.rstrip().endswith("▲ epoch 12") for line in lines)
    assert any("▲" in line and "epoch" not in line for line in lines)  # on the x axis


def test_numbers_that_just_fit_the_width_stay_on_one_line():
    """The numbers broke onto a second line when they filled the window's width exactly."""
    wide = [line for line in screen_lines(make_screen(7), 200, 30) if line.startswith("loss ")]
    assert len(wide) == 1
    width = cell_len(wide[0].rstrip())
    exact = screen_lines(make_screen(7), width, 60)
    assert [line.rstrip() for line in exact if line.startswith("loss ")] == [wide[0].rstrip()]
    narrower = screen_lines(make_screen(7), width - 1, 60)
    assert not any(line.rstrip() == wide[0].rstrip() for line in narrower)


def test_the_view_of_predictions_takes_the_room_left_up_to_its_limit():
    """What the model predicts is drawn below the chart as tall as the window leaves room for, frame
    included, and never taller than VIEW_ROWS rows of plot (in a tall window it grew to fill it)."""
    from rich.text import Text

    from nncli.render_live import CHART_FRAME, MIN_VIEW_ROWS, VIEW_ROWS

    asked = []

    def view(rows: int) -> Text:  # (a stand-in as tall as a view of `rows` rows of plot and its frame)
        asked.append(rows)
        return Text("\n".join(["view"] * (rows + CHART_FRAME)))

    screen = make_screen(20)
    screen.view, screen.started = view, screen.started - 2.0  # (not in a run's first second)
    for height in [*range(30, 50), 100]:
        lines = screen_lines(screen, 100, height)
        assert len(lines) <= height and lines[-1].startswith("loss "), height
    assert min(asked) == MIN_VIEW_ROWS and max(asked) == VIEW_ROWS


def test_run_live_draws_the_epoch_under_way(monkeypatch):
    # fit_iter's progress reached no screen unless run_live hands it one (`Training.progress`)
    from nncli import render_live

    monkeypatch.setattr(render_live, "is_terminal", lambda stream: True)
    monkeypatch.setattr(render_live.Pacer, "due", lambda self, now: True)  # (no rate limit in a test)
    console = Console(file=io.StringIO(), width=100, height=30, force_terminal=True, color_system=None)
    drawn = []

    class Run:  # as workflow.Training: an iterable of EpochStats with a `progress` to set
        progress = None

        def __iter__(self):
            self.progress(2500, 10000)
            drawn.append(console.file.getvalue())
            yield stats(1)

    render_live.run_live(Run(), make_screen(0), console)
    assert "waiting for the first epoch… (25% of its rows)" in drawn[0]



def test_an_epoch_s_progress_is_drawn_at_the_pace_of_the_frames(monkeypatch):
    """Each report of an epoch's progress redrew the screen, at any rate and whatever drawing had cost: a
    frame for every mini-batch."""
    from types import SimpleNamespace

    from nncli import render_live

    now = [0.0]
    monkeypatch.setattr(render_live, "time", SimpleNamespace(perf_counter=lambda: now[0]))  # (a clock that waits)
    monkeypatch.setattr(render_live, "is_terminal", lambda stream: True)
    console = Console(file=io.StringIO(), width=100, height=30, force_terminal=True, color_system=None)

    class Run:
        progress = None

        def __iter__(self):
            for rows in range(100, 10001, 100):  # (too soon after the first frame)
                self.progress(rows, 10000)
            now[0] = 1.0
            for rows in range(100, 10001, 100):  # (one frame, then too soon after it)
                self.progress(rows, 10000)
            yield stats(1)

    render_live.run_live(Run(), make_screen(0), console)
    assert console.file.getvalue().count("data ") == 3  # the first frame, one of the epoch under way, the last


@pytest.mark.parametrize("terminal", [True, False])
def test_the_last_live_frame_drops_the_chart_and_the_eta(monkeypatch, terminal):
    """The frame left on screen when training ended kept the chart and an ETA, above the summary: on a
    terminal, and in a file taken for one (FORCE_COLOR), which gets that frame alone."""
    from nncli import render_live

    monkeypatch.setattr(render_live, "is_terminal", lambda stream: terminal)
    console = Console(file=io.StringIO(), width=100, height=40, force_terminal=True, color_system=None)
    screen = make_screen(0)
    render_live.run_live([stats(e) for e in range(1, 6)], screen, console)
    text = CSI.sub("", console.file.getvalue())
    last = text[text.rindex("data "):]
    assert "epoch 5/50" in last and not BRAILLE.search(last) and "eta" not in last


def test_the_live_screen_off_a_terminal_is_one_frame_ending_its_line():
    """`--progress live` into a file or a pipe gets the last frame alone; it ended without a newline, and
    the summary went on at the end of its numbers line."""
    from nncli import render_live

    console = Console(file=io.StringIO(), width=100, height=30, color_system=None)  # (no terminal)
    render_live.run_live([stats(e) for e in range(1, 6)], make_screen(0), console)
    console.print("saved to m.npz")
    out = console.file.getvalue()
    assert out.count("data ") == 1 and "\x1b" not in out
    assert out.splitlines()[-2].startswith(f"loss {stats(5).loss:.4g}") and out.splitlines()[-1] == "saved to m.npz"


@pytest.mark.parametrize("stopped, discarded", [("early", False), ("interrupted", True), (None, False)])
def test_keys_typed_during_a_run_are_discarded_only_when_a_signal_stopped_it(monkeypatch, stopped, discarded):
    """A run stopped early by --patience ends by itself: the keys typed meanwhile are the shell's, not
    discarded as after a Ctrl-C."""
    from nncli import render_live

    restored = []
    monkeypatch.setattr(render_live, "_keys_unechoed", lambda stream: lambda stopped=False: restored.append(stopped))
    monkeypatch.setattr(render_live, "is_terminal", lambda stream: True)
    console = Console(file=io.StringIO(), width=100, height=30, force_terminal=True, color_system=None)
    render_live.run_live([stats(1), stats(2, stopped=stopped)], make_screen(0), console)
    assert restored == [discarded]


@pytest.mark.parametrize("failure, why", [(lambda: NncliError("training diverged"), "by an error"),
                                          (KeyboardInterrupt, "by interrupt"),
                                          (lambda: Terminated(signal.SIGTERM), "by SIGTERM")])
@pytest.mark.parametrize("epochs_done", [0, 3])
def test_the_last_frame_of_a_failed_run_says_it_stopped(monkeypatch, failure, why, epochs_done):
    # A divergence in the first epoch left "waiting for the first epoch…" above the error, and later
    # ones an ETA, as if training went on
    from nncli import render_live

    monkeypatch.setattr(render_live, "is_terminal", lambda stream: True)
    console = Console(file=io.StringIO(), width=100, height=30, force_terminal=True, color_system=None)

    class Run:
        progress = None

        def __iter__(self):
            yield from (stats(e) for e in range(1, epochs_done + 1))
            self.progress(2500, 10000)
            raise failure()

    screen = make_screen(0)
    with pytest.raises((NncliError, KeyboardInterrupt, Terminated)):
        render_live.run_live(Run(), screen, console)
    last = "\n".join(screen_lines(screen, 100, 30))
    assert "waiting" not in last and "eta" not in last and f"stopped {why} in epoch {epochs_done + 1}" in last
    if epochs_done:
        assert f"epoch {epochs_done}/50" in last and BRAILLE.search(last)  # the chart of the loss stays
    else:
        assert "stopped in the first epoch after 25% of its rows" in last


@pytest.mark.parametrize("window, width", [(100, 80), (60, 80), (12, 12)])
def test_no_frames_while_the_window_is_narrower_than_the_screen(monkeypatch, window, width):
    """A window made narrower than the screen during training: its frames wrap, and each redraw left
    the one before behind. None is drawn until it fits again; the last frame is drawn at the end."""
    import threading

    from nncli import render_live

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, window, 0, 0))
    written = bytearray()

    def drain() -> None:  # (the terminal's side, read as it comes: a full pty would block the writer)
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the other side closed
                return
            if not chunk:
                return
            written.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    monkeypatch.setattr(render_live.Pacer, "due", lambda self, now: True)  # (no rate limit in a test)
    with open(follower, "w", encoding="utf-8", closefd=True) as out:
        # (12 and 12: a console that follows the window, made 12 columns wide after the live screen started)
        console = Console(file=out, width=width, height=30, force_terminal=True, color_system=None)
        render_live.run_live([stats(e) for e in range(1, 6)], make_screen(0), console)
    reader.join()
    os.close(leader)
    text = written.decode("utf-8", "replace")
    assert "epoch 5/5" in text[text.rindex("data "):]  # the final frame
    # the first frame, one a refresh for each of the 5 epochs, and the last; in the narrow window no refresh
    assert text.count("data ") == (7 if window == 100 else 2)


def test_without_validation_only_the_training_curve():
    text = "\n".join(screen_lines(make_screen(7, val=False), 100, 30))
    assert "━ train" in text and "validation" not in text and "val loss" not in text


def test_no_color_draws_validation_dim_without_colour_codes():
    console = Console(file=io.StringIO(), width=80, height=30, force_terminal=True, color_system="truecolor",
                      no_color=True)
    console.print(make_screen(20))
    raw = console.file.getvalue()
    assert BRAILLE.search(raw) and "┄ validation" in CSI.sub("", raw)
    assert not re.search(r"\x1b\[[0-9;]*(3[0-9]|9[0-7]|38;)[0-9;]*m", raw)  # no foreground colour
    assert "\x1b[2m" in raw  # dim


def test_the_final_frame_drops_the_chart():
    screen = make_screen(10)
    screen.finished = screen.started + 1
    lines = screen_lines(screen, 80, 30)
    assert not any(BRAILLE.search(line) for line in lines)
    assert any("epoch 10/50" in line for line in lines)


def test_an_epoch_cut_short_is_not_shown_as_one():
    # Its training loss and metric are those of its first batches (say 10.7 and 0.76 after one batch).
    screen = make_screen(3)
    cut = EpochStats(epoch=4, loss=10.72, metric=0.7559, val_loss=0.3, val_metric=0.9, lr=1e-3, seconds=0.01,
                     samples=32, best_epoch=3, stopped="interrupted", partial=True)
    screen.add(cut)
    text = "\n".join(screen_lines(screen, 100, 30))
    assert "10.72" not in text and "0.7559" not in text
    assert "epoch 3/50" in text and "epoch 4/50" not in text  # whole epochs on the bar
    assert "epoch 4 cut short  val loss 0.3  val acc 0.9  best epoch 3" in text  # validation is of the weights as they are
    assert "stopped by interrupt" in text
    drawn, _ = screen.loss.view()
    assert len(drawn) == 3 and 10.72 not in drawn  # not on the chart either


def test_an_interrupt_in_the_first_epoch_shows_no_numbers():
    screen = make_screen(0, val=False)
    screen.add(EpochStats(epoch=1, loss=10.72, metric=0.7559, val_loss=None, val_metric=None, lr=1e-3,
                          seconds=0.01, samples=32, best_epoch=0, stopped="interrupted", partial=True))
    text = "\n".join(screen_lines(screen, 100, 30))
    assert "epoch 0/50" in text and "epoch 1 cut short  lr 0.001" in text
    assert "10.72" not in text and "best epoch" not in text and not BRAILLE.search(text)


def stop_after(monkeypatch, polls: int, signum: int = signal.SIGINT) -> None:
    """Make fit's Ctrl-C flag go up at its `polls`-th poll (one per mini-batch), as if Ctrl-C (or `signum`)
    came then."""
    from nncli import stop_signals

    count = []

    def poll(flag) -> str:
        count.append(1)
        if len(count) >= polls:
            flag.signum = signum
        return STOPS[flag.signum] if flag.signum is not None else ""  # (as StopFlag's own)

    monkeypatch.setattr(stop_signals.StopFlag, "__call__", poll)


def plain_lines_cut_short(cli, monkeypatch, tmp_path, polls: int) -> list[str]:
    """The epoch lines of a plain run stopped by Ctrl-C at the `polls`th stop check (48 training rows: 3
    mini-batches of 16 an epoch, a check after each)."""
    data = tmp_path / "d.csv"
    data.write_text("x,y\n" + "".join(f"{i / 64:.4f},{i % 2}\n" for i in range(64)))
    stop_after(monkeypatch, polls)
    r = cli("fit", data, "-o", tmp_path / "m.npz", "--epochs", "100", "--batch-size", "16", "--val-split", "0.25",
            "--progress", "plain")
    assert r.exit_code == 130, r.stderr
    return [line for line in r.stderr.splitlines() if line.startswith("epoch=")]


def test_plain_lines_mark_an_epoch_cut_short(cli, monkeypatch, tmp_path):
    lines = plain_lines_cut_short(cli, monkeypatch, tmp_path, 7)  # the first batch of epoch 3
    assert [line.split()[0] for line in lines] == ["epoch=1", "epoch=2", "epoch=3"]
    assert all(re.match(r"epoch=\d loss=\S+ val_loss=\S+ acc=", line) for line in lines[:2])
    assert re.fullmatch(r"epoch=3 partial val_loss=\S+ val_acc=\S+ lr=0\.001", lines[2])
    # Nor in the saved history, which `show` and --plot draw: no training loss for epoch 3
    history = load_model(str(tmp_path / "m.npz")).history
    assert np.isfinite(history["loss"][:2]).all() and np.isnan(history["loss"][2]) and np.isnan(history["metric"][2])
    assert np.isfinite(history["val_loss"]).all() and len(history["val_loss"]) == 3
    shown = cli("show", tmp_path / "m.npz", "--plot", tmp_path / "c.svg")
    assert shown.exit_code == 0 and "<svg" in (tmp_path / "c.svg").read_text()


def test_a_plain_line_gives_each_number_under_its_own_name():
    """Each value in its place: a mutant printed the training loss as val_loss, and no test read the numbers."""
    from nncli.render import epoch_line

    stats = EpochStats(epoch=12, loss=0.1234, metric=0.962, val_loss=0.1301, val_metric=0.955, lr=1e-3, seconds=0.1,
                       samples=100, best_epoch=12)
    assert epoch_line(stats, "classification") == \
        "epoch=12 loss=0.1234 val_loss=0.1301 acc=0.962 val_acc=0.955 lr=0.001"
    stats = EpochStats(epoch=3, loss=2.5, metric=0.25, val_loss=None, val_metric=None, lr=0.0316, seconds=0.1,
                       samples=100, best_epoch=3)
    assert epoch_line(stats, "regression") == "epoch=3 loss=2.5 r2=0.25 lr=0.0316"


def test_plain_lines_show_the_last_whole_epoch_before_one_cut_short(cli, monkeypatch, tmp_path):
    # Epoch 11 is no round epoch: it is shown because epoch 12 was cut short after it
    lines = plain_lines_cut_short(cli, monkeypatch, tmp_path, 34)  # the first batch of epoch 12
    assert [line.split()[0] for line in lines] == [f"epoch={e}" for e in range(1, 13)]
    assert lines[-1].startswith("epoch=12 partial")


def test_plain_lines_do_not_show_a_first_epoch_cut_short_as_finished(cli, monkeypatch, tmp_path):
    stop_after(monkeypatch, 1)
    r = cli("fit", MOONS, "-o", tmp_path / "m.npz", "--epochs", "5", "--progress", "plain")
    assert r.exit_code == 130
    assert "epoch=1 partial lr=0.001\n" in r.stderr and "loss=" not in r.stderr
    assert "interrupted before the first epoch finished; nothing saved" in r.stderr
    assert not (tmp_path / "m.npz").exists()
    stop_after(monkeypatch, 1, signal.SIGTERM)  # (it said "interrupted" for a SIGTERM too)
    r = cli("fit", MOONS, "-o", tmp_path / "m.npz", "--epochs", "5", "--progress", "plain")
    assert r.exit_code == 143 and "nncli: error: terminated before the first epoch finished; nothing saved" in r.stderr


@pytest.mark.parametrize("n", [1, 7, 8, 9, 33, 100, 1000])
def test_history_keeps_every_blocks_envelope_in_bounded_space(n):
    rng = random.Random(n)
    values = [math.nan if rng.random() < 0.1 else rng.random() for _ in range(n)]
    history = History(cap=8)
    for v in values:
        history.append(v)
    drawn, xs = history.view()
    assert len(history) == n
    assert len(drawn) <= 8 + history.block
    if xs is None:  # every epoch still its own point
        assert [str(v) for v in drawn] == [str(v) for v in values]
        return
    assert len(xs) == len(drawn) and xs[0] == 1 and xs[-1] <= n
    for k in range(0, len(history.values), 2):  # finished blocks: their epochs' finite min and max
        start = xs[k] - 1
        finite = [v for v in values[start:start + history.block] if not math.isnan(v)]
        low, high = history.values[k:k + 2]
        assert (low, high) == (min(finite), max(finite)) if finite else math.isnan(low) and math.isnan(high)
    assert drawn[len(history.values):] == values[history.tail_start - 1:]  # the newest, value by value


def test_the_newest_epochs_are_drawn_at_their_own_epochs():
    """Past the cap, the unfinished block's values are drawn one by one: each was drawn one epoch early."""
    history = History(cap=8)
    for e in range(1, 40):
        history.append(float(e))
    drawn, xs = history.view()
    assert history.block > 1 and history.tail  # (a block under way)
    tail = len(history.values)
    assert xs[tail:] == [int(v) for v in drawn[tail:]]  # value e was appended at epoch e


def test_the_rate_limit_counts_from_the_end_of_the_last_frame():
    """The next frame was due 1/MAX_RATE after the last one began: a slow frame left less than that
    between two, more than MAX_RATE frames a second."""
    pacer = Pacer(start=0.0)
    pacer.drawn(100.0, 100.5)  # (well within the share of time: 0.5 s drawn in 100)
    assert not pacer.due(100.5 + 0.9 / MAX_RATE)
    assert pacer.due(100.5 + 1.01 / MAX_RATE)


class _OnTerminal(io.StringIO):
    """A stream written in memory that says it is the terminal `fd` (whose size is asked of it)."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd

    def fileno(self) -> int:
        return self.fd


def test_a_terminal_that_does_not_know_its_size_gets_the_whole_screen():
    """A terminal that gives its size as 0 × 0 (a serial console) was taken for one 0 lines tall, which
    gave up the chart and the header, and 0 columns wide, too narrow for any frame."""
    from nncli import render_live

    leader, follower = pty.openpty()
    try:
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 0, 0, 0, 0))
        console = Console(file=_OnTerminal(follower), width=100, height=30, record=True, force_terminal=True,
                          color_system=None)
        assert render_live.fits(console)
        console.print(make_screen(20))
        text = console.export_text()
        assert BRAILLE.search(text) and "model  mlp" in text and "epoch 20/50" in text
    finally:
        os.close(leader)
        os.close(follower)


def test_the_share_of_time_counts_every_frame_drawn():
    """Only the last frame's cost was counted as time spent drawing: slow frames went on past MAX_SHARE."""
    pacer = Pacer(start=0.0)
    pacer.drawn(0.0, 0.1)
    pacer.drawn(10.0, 10.1)  # 0.2 s drawn so far; with one more such frame, 0.3 s
    assert not pacer.due(0.99 * 0.3 / MAX_SHARE)
    assert pacer.due(1.01 * 0.3 / MAX_SHARE)


def test_pacer_limits_the_rate_and_the_share_of_time():
    pacer = Pacer(start=0.0)
    pacer.drawn(0.0, 0.001)  # the first frame, as the screen appears
    assert not pacer.due(0.9 / MAX_RATE)  # the rate limit
    assert pacer.due(1.01 / MAX_RATE)
    pacer.drawn(1.0, 1.05)  # a costly frame: 0.051 s spent drawing by t = 1.05
    # The next waits until the time spent, with one more such frame, is MAX_SHARE of the time.
    budget_time = (0.051 + 0.05) / MAX_SHARE
    assert not pacer.due(0.99 * budget_time)
    assert pacer.due(1.01 * budget_time)


@pytest.mark.parametrize("command, usage", [("predict", "nncli predict MODEL DATA"), ("eval", "nncli eval MODEL DATA"),
                                            ("fit", "nncli fit DATA"), ("lr-find", "nncli lr-find DATA")])
def test_a_command_waiting_for_rows_from_the_terminal_says_so(trained, command, usage):
    # `nncli predict model.npz` with no data reads stdin: on a terminal it would wait in silence (fit,
    # eval and lr-find did, given '-').
    args = {"predict": [str(trained)], "eval": [str(trained), "-"], "fit": ["-", "-o", "/dev/null"], "lr-find": ["-"]}
    code, out = run_in_pty([command, *args[command]], 100, 24, interrupt_after="reading CSV rows from the terminal")
    assert code == 130 and f"end with Ctrl-D (or give a file: {usage})" in out


def test_the_header_names_the_schedule_and_the_defences_that_are_on():
    """`train  adam · lr 0.001 · batch 32` left out the schedule, L2 and dropout a learner had asked for."""
    from nncli.core.training import TrainConfig
    from nncli.render import training_header
    from nncli.workflow import DataOptions, ModelOptions, Training, load_training_data

    data = load_training_data(str(MOONS), DataOptions(), "auto")
    lines = {}
    for name, mopts, config in (("plain", ModelOptions(hidden=(8,)), TrainConfig(epochs=5)),
                                ("all", ModelOptions(hidden=(8,), dropout=0.2),
                                 TrainConfig(epochs=5, l2=0.00075, lr_schedule="cosine"))):
        run = Training(data, mopts, config, seed=0, dtype="float32")
        lines[name] = training_header(run, data)[-1].plain
    assert lines["plain"] == "train  adam · lr 0.001 · batch 32 · up to 5 epochs"
    assert lines["all"] == "train  adam · lr 0.001 · cosine schedule · L2 0.00075 · dropout 0.2 · batch 32 · up to 5 epochs"


def test_rows_typed_at_a_terminal_are_predicted_as_they_are_typed(trained):
    """`nncli predict MODEL` at a terminal read 1 MB at a time: the predictions of typed rows came all
    at once at Ctrl-D. Each row's now comes before the next is typed (no timing: the test waits for it,
    and would wait in vain, up to its safety net, on the old code)."""
    env = nncli_env(COLUMNS="100", LINES="24")
    pid, fd = pty.fork()
    if pid == 0:  # the child: exec at once, never return into pytest
        try:
            os.chdir(ROOT)
            os.execve(sys.executable, [sys.executable, "-m", "nncli", "predict", str(trained)], env)
        finally:
            os._exit(127)
    out = bytearray()

    def wait_for(pattern: bytes, start: int) -> int:
        while not (m := re.search(pattern, out[start:])):
            if not select.select([fd], [], [], 120)[0]:  # a safety net against a hung child, not a timing test
                os.kill(pid, signal.SIGKILL)
                raise AssertionError(f"waited 120 s for {pattern!r}; so far:\n{out.decode(errors='replace')}")
            out.extend(os.read(fd, 65536))
        return start + m.end()

    try:
        at = wait_for(rb"end with Ctrl-D", 0)
        os.write(fd, b"x1,x2,label\n0.5,-0.4,1\n")
        at = wait_for(rb"prediction\r\n[01]\r\n", at)  # before any more typing
        os.write(fd, b"-1.0,0.2,0\n")
        at = wait_for(rb"-1\.0,0\.2,0\r\n[01]\r\n", at)
        os.write(fd, b"\x04")  # Ctrl-D ends the rows
        while True:
            try:
                if not os.read(fd, 65536):
                    break
            except OSError:  # EIO: the child closed the terminal
                break
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.mark.parametrize("command", [["predict"], ["eval", "-"]])
def test_ctrl_d_before_any_row_typed_is_an_empty_file(trained, command):
    """Ctrl-D before the header waited for ever: the gzip check's peek took the end of input, and the
    next read waited for more typing (a terminal's Ctrl-D ends one read only)."""
    code, out = run_in_pty([command[0], str(trained), *command[1:]], 100, 24, typed=("end with Ctrl-D", b"\x04"))
    assert code == 1 and "the file is empty (expected a header row)" in out


def test_the_summary_of_weights_from_a_cut_short_epoch_says_their_loss_was_not_measured():
    # --patience 0 without validation keeps the last weights: those of an epoch cut short by Ctrl-C,
    # whose loss covers only its first batches. The summary and `show` read "loss -, acc -".
    from types import SimpleNamespace

    from nncli.render import final_scores

    plain = SimpleNamespace(log=False)  # (the target: not --log-target)
    cut = SimpleNamespace(task="classification", target=plain,
                          info={"final_loss": None, "final_metric": None, "weights_from_epoch": 1156})
    assert final_scores(cut) == "training loss and acc not measured (the weights are epoch 1,156's, cut short)"
    whole = SimpleNamespace(task="regression", target=plain,
                            info={"final_loss": 0.5, "final_metric": 0.25, "weights_from_epoch": 3})
    assert final_scores(whole) == "training loss 0.5000, r2 0.2500"  # (not a test: say so)


def test_a_dumb_terminal_gets_plain_lines_not_redraws(tmp_path):
    code, out = run_in_pty(["fit", str(MOONS), "-o", str(tmp_path / "m.npz"), "--epochs", "3", "--hidden", "4"], 80, 24,
                           env={"TERM": "dumb"})
    assert code == 0 and CURSOR_UP_ERASE not in out and "epoch=3 " in out


@pytest.mark.parametrize("signum, word, said, shown, by", [
    (signal.SIGTERM, "terminated", "terminated during the last", "(stopped: terminated)", "by SIGTERM"),
    (signal.SIGHUP, "hung up", "stopped by SIGHUP during the last", "(stopped by SIGHUP)", "by SIGHUP")])
def test_a_run_stopped_by_a_signal_is_said_stopped_by_that_signal(cli, monkeypatch, tmp_path, signum, word, said,
                                                                   shown, by):
    # (The summary, the model's record and the live frame said "interrupted" for a SIGTERM or SIGHUP.)
    stop_after(monkeypatch, 100, signum)  # in the fourth epoch of moons' 32 batches
    r = cli("fit", MOONS, "-o", tmp_path / "m.npz", "--epochs", "9", "--progress", "plain")
    assert r.exit_code == 128 + signum
    assert f"4 epochs ({said})" in r.stderr and "interrupted" not in r.stderr
    assert f"{word}: saved the best weights so far" in r.stderr
    assert load_model(str(tmp_path / "m.npz")).info["stopped"] == word
    r_show = cli("show", tmp_path / "m.npz")
    assert shown in r_show.stderr and "interrupted" not in r_show.stderr
    screen = make_screen(3)
    screen.add(EpochStats(epoch=4, loss=1.0, metric=0.5, val_loss=0.3, val_metric=0.9, lr=1e-3,
                          seconds=0.01, samples=32, best_epoch=3, stopped=word, partial=True))
    assert f"stopped {by}" in "\n".join(screen_lines(screen, 100, 30))


def test_plain_lines_are_spaced_by_the_epoch_reached_not_by_epochs_asked():
    from nncli.core.training import round_epoch

    logged = [e for e in range(1, 100_001) if round_epoch(e)]
    assert logged[:10] == list(range(1, 11))  # every one of the first ten
    assert all(b - a <= a / 4 for a, b in zip(logged[10:], logged[11:]))  # then at most a quarter further on
    for k in range(1, 5):  # and sixteen lines a tenfold, at round numbers
        decade = [e for e in logged if 10 ** k < e <= 10 ** (k + 1)]
        assert len(decade) == 16 and decade[-1] == 10 ** (k + 1) and decade[0] == 12 * 10 ** (k - 1)


def test_an_early_stopped_plain_run_shows_its_first_epochs_one_by_one(tmp_path):
    # (spaced by --epochs 500, a run stopped at epoch 27 printed epochs 1, 20 and 27: not its rise)
    r = run_piped("fit", str(MOONS), "-o", str(tmp_path / "m.npz"), "--epochs", "500", "--patience", "2",
                  "--val-split", "0.3", "--progress", "plain")
    assert r.returncode == 0, r.stderr
    shown = [int(line.split()[0][6:]) for line in r.stderr.decode().splitlines() if line.startswith("epoch=")]
    run = load_model(str(tmp_path / "m.npz")).info["epochs_run"]
    assert 3 <= run < 500
    assert shown[:min(run, 10)] == list(range(1, min(run, 10) + 1)) and shown[-1] == run


# Live moving back to the top of the frame it drew last: a carriage return, then erase-and-up per line
_TO_TOP = re.compile(r"\r(?:\x1b\[2K\x1b\[1A)*\x1b\[2K")


def _climbs(output: str) -> list[tuple[int, int]]:
    """For each redraw: (lines the frame before it wrote, lines the redraw climbs)."""
    moves = list(_TO_TOP.finditer(output))
    return [(output[a.end():b.start()].count("\n"), b.group().count("\x1b[1A")) for a, b in zip(moves, moves[1:])]


def test_a_ctrl_c_while_a_map_frame_is_written_leaves_the_frame_whole(tmp_path):
    """A signal's handler running after part of a large write made Python drop the rest of a ~28 KB map
    frame, and Ctrl-C made the terminal discard what it had not shown: the next redraw climbed the whole
    frame's height from its cut end, erasing the lines above the screen (3 runs in 3)."""
    code, out = run_in_pty(["fit", str(MOONS), "-o", str(tmp_path / "m.npz"), "--epochs", "3000", "--hidden",
                            "128,128", "--patience", "0"], 100, 50, interrupt_after="what the model predicts",
                           window=True)
    assert code == 130
    climbs = _climbs(out)
    assert climbs and all(climbed <= written for written, climbed in climbs), climbs


def test_an_exported_lines_taller_than_the_window_draws_frames_the_window_holds(tmp_path):
    code, out = run_in_pty(["fit", str(MOONS), "-o", str(tmp_path / "m.npz"), "--epochs", "600", "--hidden",
                            "32,32", "--patience", "0"], 100, 30, env={"LINES": "60"}, window=True)
    assert code == 0
    climbs = _climbs(out)
    assert climbs and max(written for written, _ in climbs) <= 30, climbs


@pytest.mark.parametrize("stopped", [True, False])
def test_keys_typed_unseen_are_discarded_when_a_signal_stopped_the_run(monkeypatch, stopped):
    """With NOFLSH (frames arrive whole), Ctrl-C no longer discarded the keys typed during a run: a line
    typed unseen ran in the shell afterwards. A run stopped by a signal discards them at its end; one that
    ends by itself leaves them to the shell, as before."""
    from nncli import render_live

    leader, follower = pty.openpty()
    monkeypatch.setattr(os, "tcgetpgrp", lambda fd: os.getpgrp())
    try:
        with open(follower, "w", encoding="utf-8", closefd=False) as out:
            restore = render_live._keys_unechoed(out)
            os.write(leader, b"rm -rf x\r")  # typed at the terminal while the screen is drawn
            termios.tcdrain(leader)
            restore(stopped=stopped)
        waiting = bool(select.select([follower], [], [], 0.5 if not stopped else 0)[0])
        assert waiting is not stopped
    finally:
        os.close(follower)
        os.close(leader)


def test_a_stop_signal_during_a_frame_is_delivered_once_the_frame_is_written():
    # (Sent to the main thread, which writes the frames: a signal the kernel hands another thread does not
    # interrupt the main thread's write, and its handler runs there only between two bytecodes)
    import threading

    from nncli import render_live

    reached = False
    with pytest.raises(KeyboardInterrupt):
        with render_live._whole_frame():
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
            reached = True  # (not interrupted inside: the frame is written whole)
    assert reached
