"""A Brazilian mobile whose WhatsApp id predates the ninth digit (issue #9 §6): agents see
and Rocket.Chat stores the number as dialled today; replies go to the id Meta gave."""

from __future__ import annotations

from tests.support.e2e import Env, until

OLD_FORM = "551187654321"  # 55 + 11 + 8 digits: registered before the 9


async def test_the_visitor_gets_the_ninth_digit_and_replies_keep_the_wa_id(env: Env) -> None:
    await env.graph.citizen_says(OLD_FORM, "oi")
    await until(lambda: bool(env.rc.open_room_ids()))
    rid = str(env.room()["_id"])
    await until(lambda: len(env.room_texts(rid)) == 2)
    (visitor,) = env.rc.visitors.values()
    assert visitor["phone"] == [{"phoneNumber": "+5511987654321"}]
    assert "+5511987654321" in env.room_texts(rid)[0]  # the transcript
    await env.rc.agent_says(rid, "Olá!")
    await until(lambda: len(env.graph.sent) == 1)
    assert env.graph.sent[0]["to"] == OLD_FORM
