"""The author's tools, run as `python -m bot ...` in a subprocess, as the README shows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.flows import DEFAULT_FLOW, ROOT


def bot(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_check_ok() -> None:
    done = bot("check", "config/flow.yaml")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1
    assert done.stdout.startswith("config/flow.yaml: OK — 45 nodes (")
    assert done.stderr == ""


def test_check_lists_every_error(tmp_path: Path) -> None:
    text = DEFAULT_FLOW.read_text(encoding="utf-8")
    text = text.replace("goto: cadunico_menu\n", "goto: cadunico_menuu\n")
    text = text.replace('title: "Cadastro Único"\n', 'title: "Cadastro Único (CadÚnico)"\n')
    bad = tmp_path / "flow.yaml"
    bad.write_text(text, encoding="utf-8")
    done = bot("check", str(bad))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "node 'menu_principal', field 'options[0].goto': no node named 'cadunico_menuu' "
        "(did you mean 'cadunico_menu'?)",
        "node 'menu_principal', field 'options[0].title': 25 characters, "
        "WhatsApp allows at most 24",
        f"{bad}: 2 errors",
    ]


def test_check_unreadable_file() -> None:
    done = bot("check", "nope.yaml")
    assert done.returncode == 1 and "nope.yaml: cannot read the file" in done.stderr


def test_chat_from_stdin() -> None:
    lines = "\n".join(
        [
            "oi",
            "#2",
            "1",
            "Maria",
            "52998224725",
            "pular",
            "Rua A, 1",
            "/photo poste",
            "oi?",
            "/close",
            "5",
            "pular",
            "",
        ]
    )
    done = bot("chat", "config/flow.yaml", "--now", "2026-11-23 14:00", stdin=lines)
    out = done.stdout
    assert done.returncode == 0, done.stderr
    assert "2026-11-23 14:00 (Monday)" in out.splitlines()[0]
    assert "☰ Ver assuntos" in out and "#2 Iluminação Pública" in out
    assert "[handoff to Iluminação Pública · priority normal · tags iluminacao-publica" in out
    assert "  │ • CPF: 529.982.247-25" in out
    assert "[relayed to the agent]" in out
    assert "[survey answered: 5]" in out and "[conversation ended: end at pesquisa]" in out


def test_chat_shows_buttons_and_the_clock() -> None:
    script = "\n".join(["oi", "4", "1", "/wait 45", "menu", "/noagent", "/state", "/help"])
    out = bot("chat", "config/flow.yaml", "--now", "2026-11-23 14:00", stdin=script).stdout
    assert "[ Voltar ao menu ]  [ Falar com atendente ]  [ Encerrar ]" in out
    assert "[answered by the bot: horarios]" in out
    assert "[clock: 2026-11-23 14:45]" in out
    assert "[conversation ended: timeout]" in out and "[new contact]" in out
    assert '{"v":1,' in out and "/noagent" in out


def test_chat_out_of_hours() -> None:
    script = "atendente\nMinha rua está sem coleta\n"
    out = bot("chat", "config/flow.yaml", "--now", "2026-11-23 20:00", stdin=script).stdout
    assert "fora do horário" in out and "after hours: queue it" in out


def test_chat_bad_clock() -> None:
    done = bot("chat", "config/flow.yaml", "--now", "amanhã")
    assert done.returncode == 2 and "--now" in done.stderr


def test_graph_has_the_edges() -> None:
    done = bot("graph", "config/flow.yaml")
    out = done.stdout
    assert done.returncode == 0 and out.startswith("flowchart TD\n")
    assert 'n_menu_principal -->|"Iluminação Pública"| n_iluminacao_menu' in out
    assert "flow_start --> n_inicio" in out
    assert 'n_inicio -->|"holiday expediente"| n_boas_vindas_feriado' in out
    assert '-.->|"sair, parar, encerrar, cancelar, tchau"| n_encerrar' in out
    assert "class n_falar_atendente k_handoff" in out


def test_usage_errors() -> None:
    assert bot().returncode == 2
    assert bot("lint", "x").returncode == 2
