"""``evroam commands`` and ``evroam simulate`` on the command line: errors people see, and the text a
command's record is shown as."""

from __future__ import annotations

from pathlib import Path

import msgspec
from click.testing import CliRunner

from evroam import model as m
from evroam.cli import cli
from evroam.core.types import DateTime
from evroam.modules.commands import CommandRecord, CommandState, CommandType, Direction, ResultEvent
from evroam.modules.commands.cli import record_summary, record_text


def _init(tmp_path: Path, role: str) -> Path:
    data = tmp_path / role.lower()
    result = CliRunner().invoke(
        cli,
        [
            "--data-dir",
            str(data),
            "init",
            "--country-code",
            "DE",
            "--party-id",
            "MSP",
            "--role",
            role,
            "--url",
            "http://127.0.0.1:1",
        ],
    )
    assert result.exit_code == 0, result.output
    return data


def test_an_emsp_without_commands_lists_none(tmp_path: Path) -> None:
    data = _init(tmp_path, "EMSP")
    result = CliRunner().invoke(cli, ["--data-dir", str(data), "commands", "list"])
    assert result.exit_code == 0 and "no commands sent yet" in result.output
    result = CliRunner().invoke(cli, ["--data-dir", str(data), "commands", "list", "--received", "--json"])
    assert result.exit_code == 0 and result.output.strip() == "[]"


def test_sending_to_an_unknown_partner_says_so(tmp_path: Path) -> None:
    data = _init(tmp_path, "EMSP")
    result = CliRunner().invoke(
        cli, ["--data-dir", str(data), "commands", "stop-session", "--partner", "nobody", "--session", "S1"]
    )
    assert result.exit_code == 1
    assert "Error:" in result.output and "nobody" in result.output


def test_a_cpo_node_does_not_send_commands(tmp_path: Path) -> None:
    data = _init(tmp_path, "CPO")
    result = CliRunner().invoke(
        cli, ["--data-dir", str(data), "commands", "stop-session", "--partner", "x", "--session", "S1"]
    )
    assert result.exit_code == 1 and "no eMSP party" in result.output


def test_simulate_needs_a_cpo_party(tmp_path: Path) -> None:
    data = _init(tmp_path, "EMSP")
    result = CliRunner().invoke(cli, ["--data-dir", str(data), "simulate", "--port", "1"])
    assert result.exit_code == 1 and "needs a node with a CPO party" in result.output


def test_a_record_reads_as_request_answer_results_outcome() -> None:
    created = DateTime.parse("2026-03-01T12:00:00Z")
    record = CommandRecord(
        id="c-1",
        direction=Direction.SENT,
        type=CommandType.START_SESSION,
        partner_id="p-1",
        partner_name="cpo",
        version="2.2.1",
        country_code="DE",
        party_id="MSP",
        response_url="https://emsp.test/ocpi/2.2.1/sender/commands/c-1",
        request=msgspec.Raw(b"{}"),
        summary={"location": "LOC1", "token": "APP1"},
        state=CommandState.DONE,
        response=m.CommandResponse(result=m.CommandResponseType.ACCEPTED, timeout=30),
        result=m.CommandResult(result=m.CommandResultType.EVSE_OCCUPIED),
        results=(
            ResultEvent(
                at=DateTime.parse("2026-03-01T12:00:01.5Z"),
                result=m.CommandResult(result=m.CommandResultType.EVSE_OCCUPIED),
                source="partner",
            ),
        ),
        created=created,
        last_updated=created,
    )
    assert record_text(record).splitlines() == [
        "START_SESSION c-1 to cpo (OCPI 2.2.1)",
        "  request:  location LOC1, token APP1",
        "  response: ACCEPTED (timeout 30 s)",
        "  result:   EVSE_OCCUPIED (from the partner after 1.5 s)",
        "  outcome:  EVSE_OCCUPIED",
    ]
    summary = record_summary(record)
    assert (summary["outcome"], summary["response"]["timeout"], summary["results"][0]["source"]) == (
        "EVSE_OCCUPIED",
        30,
        "partner",
    )
