"""`/deploy-question team` and `digest`, and the digest's "Post it in the channel" button.

Both answer after the ack: the team view asks Slack who is in the channel, and the
digest asks whether the user is an admin (who may post it in the channel).
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import team_blocks
from bot.slack.admins import Admins
from bot.slack.background import AfterAck
from bot.slack.roster import Roster
from bot.teamlead import TeamLead
from bot.use_cases import UseCases

DIGEST_POST = "digest_post"
DIGEST_USAGE = (
    "Usage: `/deploy-question digest` (this week's, privately) or `digest post` (admins)."
)


class TeamCommands:
    def __init__(
        self,
        *,
        use: UseCases,
        teamlead: TeamLead,
        admins: Admins,
        roster: Roster,
        after_ack: AfterAck,
    ) -> None:
        self._use = use
        self._teamlead = teamlead
        self._admins = admins
        self._roster = roster
        self._later = after_ack

    def register(self, app: AsyncApp) -> None:
        app.action(DIGEST_POST)(self.on_digest_post)

    async def on_team(
        self,
        ack: AsyncAck,
        respond: AsyncRespond,
        client: AsyncWebClient,
        *,
        team: str,
        channel: str,
    ) -> None:
        await ack()

        async def answer() -> None:
            members = await self._roster.people(client, team=team, channel=channel)
            week = await self._teamlead.week(team=team, channel=channel, members=members)
            await respond(text=team_blocks.team_text(channel, week), response_type="ephemeral")

        self._later(answer(), "team view")

    async def on_digest(
        self,
        ack: AsyncAck,
        respond: AsyncRespond,
        client: AsyncWebClient,
        args: tuple[str, ...],
        *,
        team: str,
        channel: str,
        user: str,
    ) -> None:
        verb = args[0].lower() if args else ""
        if verb not in ("", "post") or len(args) > 1:
            await ack(text=DIGEST_USAGE)
            return
        await ack()

        async def answer() -> None:
            check = await self._admins.check(client, user)
            if verb == "post":
                text = await self._post(team, channel) if check.allowed else check.refusal
                await respond(text=text, response_type="ephemeral")
                return
            data = await self._use.reports.digest(team=team, channel=channel)
            reply = team_blocks.digest_reply(channel, data, admin=check.allowed)
            await respond(**reply, response_type="ephemeral")

        self._later(answer(), "digest")

    async def _post(self, team: str, channel: str) -> str:
        if await self._use.reports.post_digest(team=team, channel=channel):
            return "Posting this week's digest, with its chart, in the channel."
        return "This week's digest was already posted in the channel today."

    async def on_digest_post(
        self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        user = (body.get("user") or {}).get("id", "")
        team = (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id", "")
        channel = (body.get("channel") or {}).get("id") or str(
            (body.get("actions") or [{}])[0].get("value") or ""
        )

        async def post() -> None:
            check = await self._admins.check(client, user)
            text = await self._post(team, channel) if check.allowed else check.refusal
            await respond(text=text, replace_original=True)

        self._later(post(), "digest post")
