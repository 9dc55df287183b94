"""The bot's neutral menus become Cloud API interactive objects (contract §3)."""

from __future__ import annotations

from bridge.whatsapp.interactive import render


def test_buttons_become_reply_buttons_with_optional_parts_left_out() -> None:
    menu = {
        "kind": "buttons",
        "body": "Posso ajudar em algo mais?",
        "header": None,
        "footer": "Central 156",
        "buttons": [{"id": "fim:menu", "title": "Voltar ao menu"}],
    }
    assert render(menu) == {
        "type": "button",
        "body": {"text": "Posso ajudar em algo mais?"},
        "footer": {"text": "Central 156"},
        "action": {
            "buttons": [{"type": "reply", "reply": {"id": "fim:menu", "title": "Voltar ao menu"}}]
        },
    }


def test_a_list_keeps_sections_rows_and_descriptions() -> None:
    menu = {
        "kind": "list",
        "body": "Escolha um assunto:",
        "button": "Ver assuntos",
        "header": "Central 156",
        "footer": None,
        "sections": [
            {
                "title": "Opções",
                "rows": [
                    {"id": "m:luz", "title": "Iluminação Pública", "description": "Poste"},
                    {"id": "m:faq", "title": "Dúvidas", "description": None},
                ],
            }
        ],
    }
    assert render(menu) == {
        "type": "list",
        "header": {"type": "text", "text": "Central 156"},
        "body": {"text": "Escolha um assunto:"},
        "action": {
            "button": "Ver assuntos",
            "sections": [
                {
                    "title": "Opções",
                    "rows": [
                        {"id": "m:luz", "title": "Iluminação Pública", "description": "Poste"},
                        {"id": "m:faq", "title": "Dúvidas"},
                    ],
                }
            ],
        },
    }
