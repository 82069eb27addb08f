"""``python -m rasv`` runs the CLI (same as the ``rasv`` command)."""

from rasv.cli import main

if __name__ == "__main__":
    main()
