"""pytest fixtures of the evroam test kit (needs pytest; :mod:`evroam.testing` itself does not).

In a ``conftest.py`` or a test module::

    from evroam.testing.pytest import node_pair_fixture

    node_pair = node_pair_fixture(scope="module", env={"EVROAM_PUSH_POLL_INTERVAL": "0.05"})

    def test_the_cpo_sees_the_emsp(node_pair: NodePair) -> None:
        assert node_pair.cpo.json("partners", "show", "emsp")["status"] == "REGISTERED"

Or import the ready-made one: ``from evroam.testing.pytest import node_pair`` (function scope, registered).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

import pytest

from evroam.testing.nodes import NodePair, NodeProcess

__all__ = ["node_pair", "node_pair_fixture"]

Scope = Literal["session", "package", "module", "class", "function"]


def node_pair_fixture(
    *,
    name: str = "node_pair",
    scope: Scope = "function",
    register: bool = True,
    env: Mapping[str, str] | None = None,
    cpo_env: Mapping[str, str] | None = None,
    emsp_env: Mapping[str, str] | None = None,
    log_level: str = "INFO",
    node_class: type[NodeProcess] = NodeProcess,
    node_options: Mapping[str, Any] | None = None,
) -> object:
    """A pytest fixture called ``name`` that yields a started :class:`~evroam.testing.NodePair` (in a
    fresh temporary directory; registered unless ``register`` is false) and stops both nodes afterwards.

    Assign it to a module-level name in a test module or ``conftest.py``; pytest knows it by ``name``.
    The other arguments are those of :class:`~evroam.testing.NodePair`.
    """

    def fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodePair]:
        pair = NodePair(
            tmp_path_factory.mktemp(name),
            env=env,
            cpo_env=cpo_env,
            emsp_env=emsp_env,
            log_level=log_level,
            node_class=node_class,
            node_options=node_options,
        )
        with pair.up(register=register):
            yield pair

    return pytest.fixture(fixture, scope=scope, name=name)


node_pair = node_pair_fixture()
"""A registered CPO + eMSP pair, one per test (``from evroam.testing.pytest import node_pair``)."""
