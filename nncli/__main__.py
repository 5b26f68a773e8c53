"""The `nncli` command and `python -m nncli`: what must happen before anything is imported.

- Ctrl-C, SIGTERM or SIGHUP from the first moment exits quietly (130, 143, 129; see
  `nncli.stop_signals`): handlers are installed before the command-line modules (and Typer) load;
  `nncli.cli.main` replaces them once it can report an interruption itself.
- Standard streams the process was started without (`<&-`, `>&-`, `2>&-`), or with a
  descriptor open the wrong way round (stderr read-only), get stand-ins, and their descriptors
  are filled with /dev/null, so that no file opened later (a model being written) can take
  descriptor 1 or 2 and receive printed text (see `nncli.std_streams`).

Standard library only (and `nncli.stop_signals` and `nncli.std_streams`, which are too).
"""

import sys

from nncli import stop_signals


def _early(signum: int, frame: object) -> None:
    stop_signals.raised = signum  # (an import may swallow the SystemExit: see `stop_signals.raised`)
    try:
        sys.stderr.write(f"nncli: error: {stop_signals.STOPS[signum]}\n")
        stop_signals.announced = signum
    except (AttributeError, OSError, ValueError):  # stderr's reader has gone: keep the exit code
        from nncli.std_streams import silence

        silence(sys.stderr)
    raise SystemExit(stop_signals.exit_code(signum))


def main() -> None:
    stop_signals.install(_early)
    from nncli.std_streams import fill_closed_streams

    fill_closed_streams()
    from nncli.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
