"""``python -m retention_xl`` runs the command line."""

from retention_xl.cli import main

main(prog_name="retention-xl")
