"""Buttons on the bot's messages that open something: Details (feedback and scorecards)
and Rate the candidate (a paired mock's brief), with the rating form.

Each listener acks first; what needs the database or the Web API runs after the ack
(a trigger_id stays valid for three seconds, plenty for one lookup).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.interviews import Rated
from bot.slack import feedback
from bot.slack.interview import interviewer_brief_rated, rated_criteria, rating_modal
from bot.use_cases import UseCases

log = logging.getLogger(__name__)

AfterAck = Callable[[Awaitable[object], str], None]


def action_value(body: dict[str, Any]) -> str:
    """The value of the button pressed in a block_actions payload."""
    return str((body.get("actions") or [{}])[0].get("value") or "")


def interaction_who(body: dict[str, Any]) -> tuple[str, str]:
    """(team, user) of an interaction."""
    user = body.get("user") or {}
    return str((body.get("team") or {}).get("id") or user.get("team_id") or ""), str(
        user.get("id") or ""
    )


def _rating_form(private_metadata: str) -> tuple[int, str | None]:
    """(mock id, the brief's response_url) from the form; forms opened before the brief
    could be updated carry the mock id alone."""
    if private_metadata.isdigit():
        return int(private_metadata), None
    try:
        data = json.loads(private_metadata)
        return int(data["mock"]), (str(data["brief"]) if data.get("brief") else None)
    except (ValueError, KeyError, TypeError):
        return 0, None


class MessageActions:
    def __init__(self, use: UseCases, after_ack: AfterAck) -> None:
        self._use = use
        self._after_ack = after_ack

    def register(self, app: AsyncApp) -> None:
        app.action(feedback.DETAILS_ACTION)(self.on_details)
        app.action("mock_rate")(self.on_rate_button)
        app.view("mock_rating")(self.on_rating_submitted)

    # --- Details ------------------------------------------------------------------------

    async def on_details(
        self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        team, _ = interaction_who(body)
        opened = self._open_details(
            client, respond, team=team, key=action_value(body), trigger=body.get("trigger_id")
        )
        self._after_ack(opened, "details")

    async def _open_details(
        self,
        client: AsyncWebClient,
        respond: AsyncRespond,
        *,
        team: str,
        key: str,
        trigger: str | None,
    ) -> None:
        found = await self._use.reports.details(team=team, key=key)
        if found is None or not trigger:
            await respond(
                text=feedback.details_gone(), response_type="ephemeral", replace_original=False
            )
            return
        view = feedback.details_view(
            found.question, found.grade, user=found.user, scorecard=found.scorecard
        )
        await client.views_open(trigger_id=trigger, view=view)

    # --- Rate the candidate ------------------------------------------------------------

    async def on_rate_button(
        self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        value = action_value(body)
        if value.isdigit():
            team, user = interaction_who(body)
            opened = self._open_rating(
                client,
                respond,
                team=team,
                user=user,
                mock_id=int(value),
                trigger=str(body.get("trigger_id") or ""),
                brief_url=body.get("response_url"),
            )
            self._after_ack(opened, "rating form")

    async def _open_rating(
        self,
        client: AsyncWebClient,
        respond: AsyncRespond,
        *,
        team: str,
        user: str,
        mock_id: int,
        trigger: str,
        brief_url: str | None,
    ) -> None:
        info = await self._use.interviews.info(team=team, mock_id=mock_id)
        if info is None:
            await respond(
                text="That mock interview isn't here any more, so there is nothing to rate.",
                response_type="ephemeral",
                replace_original=False,
            )
        elif info.interviewer != user:
            who = f"<@{info.interviewer}>" if info.interviewer else "the named interviewer"
            await respond(
                text=(
                    f"Only {who} can rate this mock interview: they were named as "
                    f"<@{info.candidate}>'s interviewer. Nothing was changed. To run one "
                    "yourself, use `/deploy-question mock @colleague`."
                ),
                response_type="ephemeral",
                replace_original=False,
            )
        elif info.rating is not None:
            # Rated already (from another copy of the brief): this copy loses its button too.
            await respond(
                text=f"You already rated this mock interview {info.rating}/5.",
                blocks=interviewer_brief_rated(
                    info.question, candidate=info.candidate, rating=info.rating
                ),
                replace_original=True,
            )
        else:
            view = rating_modal(mock_id, brief_url, info.question)
            await client.views_open(trigger_id=trigger, view=view)

    async def on_rating_submitted(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        values = (view.get("state") or {}).get("values") or {}
        selected = ((values.get("rating") or {}).get("value") or {}).get("selected_option") or {}
        rating = str(selected.get("value", ""))
        if not rating.isdigit() or not 1 <= int(rating) <= 5:
            await ack(response_action="errors", errors={"rating": "Pick a rating from 1 to 5."})
            return
        notes = ((values.get("notes") or {}).get("value") or {}).get("value") or ""
        team, user = interaction_who(body)
        mock_id, brief_url = _rating_form(str(view.get("private_metadata") or ""))
        rated = await self._use.interviews.rate(
            team=team,
            mock_id=mock_id,
            interviewer=user,
            rating=int(rating),
            notes=str(notes),
            criteria=rated_criteria(values),
        )
        if rated is Rated.ALREADY_RATED:
            await ack(
                response_action="errors",
                errors={
                    "rating": "You already rated this mock interview; the first rating stands."
                },
            )
            return
        if rated is Rated.REFUSED:
            log.warning("rating for mock %s refused (not the interviewer, or unknown)", mock_id)
            await ack(
                response_action="errors",
                errors={"rating": "Only the colleague named as the interviewer can rate it."},
            )
            return
        await ack()
        if brief_url:
            self._after_ack(self._mark_rated(brief_url, team=team, mock_id=mock_id), "brief")

    async def _mark_rated(self, brief_url: str, *, team: str, mock_id: int) -> None:
        """Replace the brief's Rate button with the rating, so it can't be pressed again."""
        info = await self._use.interviews.info(team=team, mock_id=mock_id)
        if info is None or info.rating is None:
            return
        blocks = interviewer_brief_rated(
            info.question, candidate=info.candidate, rating=info.rating
        )
        await AsyncRespond(response_url=brief_url)(
            text=f"Interviewer brief: you rated it {info.rating}/5.",
            blocks=blocks,
            replace_original=True,
        )
