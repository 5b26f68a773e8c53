"""`python -m nncli` runs the command-line interface."""

from nncli.cli import main

if __name__ == "__main__":
    main()
