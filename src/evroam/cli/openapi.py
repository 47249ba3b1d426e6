"""``evroam openapi --ocpi-version V [--json]``: the OpenAPI 3.1 document of what this node serves.

The same document the node answers at ``GET /ocpi/{V}/openapi.json`` (to registered partners), made from
this node's configuration (its parties decide which module interfaces it serves) and its kits. Without
``--json`` it prints the operations, one a line. See ``docs/openapi.md``.
"""

from __future__ import annotations

import json
from typing import Any

import click

from evroam.cli.node import run_on_node
from evroam.node.wiring import Node

__all__ = ["openapi", "operations"]

_METHODS = ("get", "put", "post", "patch", "delete")


def operations(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(METHOD, path, operationId)`` of every operation of ``document``, in the document's order."""
    return [
        (method.upper(), path, str(item[method].get("operationId", "")))
        for path, item in document["paths"].items()
        for method in _METHODS
        if method in item
    ]


@click.command()
@click.option(
    "--ocpi-version", "version", required=True, help="The OCPI version (one the node serves), e.g. 2.2.1."
)
@click.option("--json", "as_json", is_flag=True, help="Print the OpenAPI document (JSON).")
def openapi(version: str, as_json: bool) -> None:
    """The OpenAPI 3.1 document of the routes this node serves in one OCPI version."""

    async def make(node: Node) -> dict[str, Any]:
        return await node.openapi(version)

    document = run_on_node(make)
    if as_json:
        click.echo(json.dumps(document, indent=2))
        return
    rows = operations(document)
    width = max(len(m) for m, _, _ in rows)
    click.echo(f"{document['info']['title']}: {len(rows)} operations at {document['servers'][0]['url']}")
    for method, path, operation_id in rows:
        click.echo(f"  {method:<{width}} {path}  ({operation_id})")
