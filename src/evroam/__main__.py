"""``python -m evroam`` runs the command line."""

from evroam.cli import main

main()
