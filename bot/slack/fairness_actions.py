"""The "Was this fair?" listeners: the thumbs (feedback buttons, or their plain fallback) and
the dispute form. Each acks first; the lookup, the form and the private thanks follow."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.calibration import DisputeForm, Verdict
from bot.slack import fairness
from bot.slack.actions import AfterAck, action_value, interaction_who
from bot.use_cases import UseCases

_FAIR = re.compile("^(" + "|".join(fairness.FAIR_ACTIONS) + ")$")


def _private(text: str) -> dict[str, Any]:
    return {"text": text, "response_type": "ephemeral", "replace_original": False}


class FairnessActions:
    def __init__(self, use: UseCases, after_ack: AfterAck) -> None:
        self._use = use
        self._after_ack = after_ack

    def register(self, app: AsyncApp) -> None:
        app.action(_FAIR)(self.on_fair)
        app.view(fairness.DISPUTE_VIEW)(self.on_dispute_submitted)

    async def on_fair(
        self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        parsed = fairness.parse_value(action_value(body))
        if parsed is None:
            return
        fair, key = parsed
        team, user = interaction_who(body)
        if fair:
            judged = self._fair(respond, team=team, user=user, key=key)
        else:
            judged = self._open_dispute(
                client,
                respond,
                team=team,
                user=user,
                key=key,
                trigger=str(body.get("trigger_id") or ""),
                url=body.get("response_url"),
            )
        self._after_ack(judged, "was this fair")

    async def _fair(self, respond: AsyncRespond, *, team: str, user: str, key: str) -> None:
        verdict = await self._use.calibration.fair(team=team, user=user, key=key)
        said = fairness.thanks_fair() if verdict is Verdict.RECORDED else fairness.refusal(verdict)
        await respond(**_private(said))

    async def _open_dispute(
        self,
        client: AsyncWebClient,
        respond: AsyncRespond,
        *,
        team: str,
        user: str,
        key: str,
        trigger: str,
        url: str | None,
    ) -> None:
        form = await self._use.calibration.open_dispute(team=team, user=user, key=key)
        if not isinstance(form, DisputeForm):
            await respond(**_private(fairness.refusal(form)))
            return
        await client.views_open(trigger_id=trigger, view=fairness.dispute_modal(form, url))

    async def on_dispute_submitted(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        read = fairness.read_dispute((view.get("state") or {}).get("values") or {})
        if isinstance(read, dict):
            await ack(response_action="errors", errors=read)
            return
        levels, score, note, share = read
        team, user = interaction_who(body)
        key, url = fairness.dispute_form_of(str(view.get("private_metadata") or ""))
        verdict = await self._use.calibration.dispute(
            team=team, user=user, key=key, levels=levels, score=score, note=note, share=share
        )
        await ack()
        said = (
            fairness.thanks_dispute(levels, score, share)
            if verdict is Verdict.RECORDED
            else fairness.refusal(verdict)
        )
        if url:
            self._after_ack(AsyncRespond(response_url=url)(**_private(said)), "dispute thanks")
