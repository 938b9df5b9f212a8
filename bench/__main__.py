"""Entry point: ``.venv/app/bin/python -m bench [--parts ...] [--sizes ...] [--concurrency ...] [--quick]``."""

from bench.cli import main

if __name__ == "__main__":
    main()
