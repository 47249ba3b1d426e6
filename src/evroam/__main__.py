"""``python -m evroam`` runs the command line."""

from evroam.node.cli import main

main()
