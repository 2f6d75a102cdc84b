"""``python -m durable_functions`` runs the ``durable`` CLI."""

from durable_functions.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
