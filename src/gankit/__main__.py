"""`python -m gankit` is the `gankit` command (and what torchrun starts)."""

from gankit.cli import main

if __name__ == "__main__":
    main()
