"""The node's command line: init, and the partners commands that need no partner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from evroam.cli import cli
from evroam.node.config import load_config


def run(data_dir: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "--log-level", "WARNING", *args])
    return result.exit_code, result.stdout, result.stderr


def test_init_writes_the_configuration_and_the_database(tmp_path: Path) -> None:
    code, out, _ = run(
        tmp_path,
        "init", "--country-code", "nl", "--party-id", "abc", "--role", "CPO", "--role", "emsp",
        "--party", "DE:XYZ:CPO", "--url", "http://127.0.0.1:8100/", "--name", "ACME", "--json",
    )  # fmt: skip
    assert code == 0, out
    printed = json.loads(out)
    assert printed["versions_url"] == "http://127.0.0.1:8100/ocpi/versions"
    assert printed["ocpi_versions"] == ["2.1.1", "2.2.1", "2.3.0"]  # init serves all three by default
    config = load_config(tmp_path)
    assert config.url == "http://127.0.0.1:8100"
    assert [(p.country_code, p.party_id, p.role, p.name) for p in config.parties] == [
        ("NL", "ABC", "CPO", "ACME"),
        ("NL", "ABC", "EMSP", "ACME"),
        ("DE", "XYZ", "CPO", "ACME"),
    ]
    assert (tmp_path / "evroam.db").exists()


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    args = ("init", "--country-code", "NL", "--party-id", "ABC", "--role", "CPO", "--url", "http://h:1")
    assert run(tmp_path, *args)[0] == 0
    code, _, err = run(tmp_path, *args)
    assert code == 1
    assert "already exists; add --force" in err
    assert run(tmp_path, *args, "--force")[0] == 0


def test_init_names_every_problem(tmp_path: Path) -> None:
    code, _, err = run(
        tmp_path, "init", "--country-code", "NLD", "--party-id", "AB", "--role", "BOSS", "--url", "ftp://x"
    )
    assert code == 1
    line = err.strip()
    assert "\n" not in line
    for fragment in ("NLD", "'AB'", "'BOSS'", "ftp://x"):
        assert fragment in line
    assert not (tmp_path / "node.json").exists()


def test_init_needs_a_party(tmp_path: Path) -> None:
    code, _, err = run(tmp_path, "init", "--url", "http://h:1")
    assert code == 2
    assert "--country-code NL --party-id ABC --role CPO" in err


def test_commands_before_init_say_what_to_do(tmp_path: Path) -> None:
    code, _, err = run(tmp_path / "nothing", "partners", "list")
    assert code == 1
    assert "run `evroam --data-dir" in err and "init" in err


def test_invite_list_and_show(tmp_path: Path) -> None:
    run(tmp_path, "init", "--country-code", "NL", "--party-id", "ABC", "--role", "CPO", "--url", "http://h:1")
    code, out, _ = run(tmp_path, "partners", "list")
    assert code == 0
    assert "no partners yet" in out
    code, out, _ = run(tmp_path, "partners", "invite", "bob", "--json")
    assert code == 0
    invitation = json.loads(out)
    assert invitation["versions_url"] == "http://h:1/ocpi/versions"
    assert len(invitation["token"]) >= 32
    code, out, _ = run(tmp_path, "partners", "list", "--json")
    assert [(p["name"], p["status"]) for p in json.loads(out)] == [("bob", "INVITED")]
    code, out, _ = run(tmp_path, "partners", "show", "BOB")
    assert code == 0
    assert "INVITED" in out
    assert invitation["token"] not in out
    code, _, err = run(tmp_path, "partners", "show", "alice")
    assert code == 3  # not found (docs/cli.md)
    assert "no partner called 'alice'" in err


def test_rotate_and_unregister_of_a_partner_that_is_not_registered(tmp_path: Path) -> None:
    run(tmp_path, "init", "--country-code", "NL", "--party-id", "ABC", "--role", "CPO", "--url", "http://h:1")
    run(tmp_path, "partners", "invite", "bob")
    code, _, err = run(tmp_path, "partners", "rotate", "bob")
    assert code == 1
    assert "'bob' is invited, not registered" in err


def test_invite_token_only_prints_the_token_alone_and_replaces_the_previous_one(tmp_path: Path) -> None:
    run(tmp_path, "init", "--country-code", "NL", "--party-id", "ABC", "--role", "CPO", "--url", "http://h:1")
    code, first, _ = run(tmp_path, "partners", "invite", "bob", "--token-only")
    assert code == 0
    assert len(first.splitlines()) == 1 and " " not in first.strip()
    _, second, _ = run(tmp_path, "partners", "invite", "bob", "--token-only")
    assert second.strip() != first.strip()
    _, out, _ = run(tmp_path, "partners", "list", "--json")
    assert len(json.loads(out)) == 1
