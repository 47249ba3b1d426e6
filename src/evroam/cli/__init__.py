"""The ``evroam`` command line (:func:`main`), assembled from the node's commands and the module kits."""

from evroam.cli.main import cli, main

__all__ = ["cli", "main"]
