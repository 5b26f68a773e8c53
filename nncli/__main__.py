"""The `nncli` command and `python -m nncli`: what must happen before anything is imported.

- Ctrl-C or SIGTERM from the first moment exits quietly (130 / 143): handlers are installed
  before the command-line modules (and Typer) load; `nncli.cli.main` replaces them once it can
  report an interruption itself.
- Standard streams the process was started without (`<&-`, `>&-`, `2>&-`), or with a
  descriptor open the wrong way round (stderr read-only), get stand-ins, and their descriptors
  are filled with /dev/null, so that no file opened later (a model being written) can take
  descriptor 1 or 2 and receive printed text (see `nncli.std_streams`).

Standard library only (and `nncli.std_streams`, which is too).
"""

import signal
import sys


def _early(signum: int, frame: object) -> None:
    try:
        sys.stderr.write("nncli: error: interrupted\n" if signum == signal.SIGINT else "nncli: error: terminated\n")
    except (AttributeError, OSError, ValueError):  # stderr's reader has gone: keep the exit code
        from nncli.std_streams import silence

        silence(sys.stderr)
    raise SystemExit(130 if signum == signal.SIGINT else 143)


def main() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is not signal.SIG_IGN:  # ignored when started (a background job): stays so
            signal.signal(signum, _early)
    from nncli.std_streams import fill_closed_streams

    fill_closed_streams()
    from nncli.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
