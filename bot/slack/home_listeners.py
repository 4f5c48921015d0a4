"""The App Home: publishing the dashboard, its buttons and the modals they open.

Every click answers by publishing the Home again (with a line saying what happened),
so its buttons always show the current state. Admin buttons check with Slack that the
clicker is an admin (users.info), after the ack like every Web API call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.dashboard import Dashboards, Started
from bot.errors import UnknownQuestion
from bot.schedule import Schedules
from bot.slack import home, schedule_blocks
from bot.slack.admins import Admins
from bot.slack.background import AfterAck
from bot.slack.blocks import escape
from bot.slack.roster import Roster
from bot.teamlead import TeamLead

if TYPE_CHECKING:
    from bot.schedule import ScheduleView

NO_CHANNEL = (
    "I don't know where you practise yet: run `/deploy-question` in a channel with Deploy "
    "Drill in it (`/invite @deploy-drill`), then come back."
)


def _who(body: dict[str, Any]) -> tuple[str, str]:
    """(team, user) of an interaction."""
    user = body.get("user") or {}
    team = (body.get("team") or {}).get("id") or user.get("team_id") or ""
    return str(team), str(user.get("id") or "")


def _value(body: dict[str, Any]) -> str:
    return str((body.get("actions") or [{}])[0].get("value") or "")


def _started(started: Started | None, what: str) -> str:
    if started is None:
        return NO_CHANNEL
    return (
        f":white_check_mark: {what} *{escape(started.question.title)}* in "
        f"<#{started.channel}> - answer in its thread."
    )


class HomeListeners:
    def __init__(
        self,
        *,
        dashboards: Dashboards,
        teamlead: TeamLead,
        schedules: Schedules,
        admins: Admins,
        roster: Roster,
        bank_size: int,
        after_ack: AfterAck,
    ) -> None:
        self._dashboards = dashboards
        self._teamlead = teamlead
        self._schedules = schedules
        self._admins = admins
        self._roster = roster
        self._bank_size = bank_size
        self._later = after_ack

    def register(self, app: AsyncApp) -> None:
        app.event("app_home_opened")(self.on_home_opened)
        app.action(home.NEXT_DRILL)(self.on_next_drill)
        app.action(home.MOCK)(self.on_mock)
        app.action(home.WEAKEST)(self.on_weakest)
        app.action(home.HISTORY)(self.on_history)
        app.action(home.HISTORY_PAGE)(self.on_history)
        app.view(home.DRILL_SUBMITTED)(self.on_drill_submitted)
        for verb in home.SCHEDULE_ACTIONS:
            app.action(home.schedule_action(verb))(self.on_schedule_button)
        app.view(home.POST_NOW_SUBMITTED)(self.on_post_now_submitted)

    # --- the dashboard ------------------------------------------------------------------

    async def publish(
        self, client: AsyncWebClient, *, team: str, user: str, notice: str | None = None
    ) -> None:
        dash = await self._dashboards.for_user(team=team, user=user)
        check = await self._admins.check(client, user)
        team_lead = await self._team_lead(client, team=team) if check.allowed else None
        view = home.home_view(dash, bank_size=self._bank_size, team_lead=team_lead, notice=notice)
        await client.views_publish(user_id=user, view=view)

    async def _team_lead(self, client: AsyncWebClient, *, team: str) -> home.TeamLeadHome:
        weeks = []
        for channel in await self._teamlead.team_channels(team=team):
            members = await self._roster.people(client, team=team, channel=channel)
            weeks.append(
                (channel, await self._teamlead.week(team=team, channel=channel, members=members))
            )
        disputed = await self._dashboards.top_disputed(team=team)
        return home.TeamLeadHome(await self._schedules.for_team(team=team), weeks, disputed)

    async def on_home_opened(
        self, event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        if event.get("tab") != "home":
            return
        team = str(body.get("team_id") or event.get("team") or "")
        self._later(self.publish(client, team=team, user=str(event["user"])), "App Home")

    async def _drill(self, *, team: str, user: str, question_id: str) -> str:
        """Post the question where the user practises; what the Home then says."""
        try:
            started = await self._dashboards.drill(team=team, user=user, question_id=question_id)
        except UnknownQuestion:
            return "That question is no longer in the bank; here is a fresh suggestion."
        return _started(started, "Posted")

    async def on_next_drill(
        self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        team, user = _who(body)
        notice = await self._drill(team=team, user=user, question_id=_value(body))
        await ack()
        self._later(self.publish(client, team=team, user=user, notice=notice), "App Home")

    async def on_mock(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        team, user = _who(body)
        notice = _started(
            await self._dashboards.mock(team=team, user=user), "Started a mock interview on"
        )
        await ack()
        self._later(self.publish(client, team=team, user=user, notice=notice), "App Home")

    async def on_drill_submitted(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """The weakest-criterion modal's "Drill it"."""
        team, user = _who(body)
        question_id = str(view.get("private_metadata") or "")
        notice = await self._drill(team=team, user=user, question_id=question_id)
        await ack()
        self._later(self.publish(client, team=team, user=user, notice=notice), "App Home")

    # --- modals ---------------------------------------------------------------------------

    async def on_weakest(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        team, user = _who(body)
        dash = await self._dashboards.for_user(team=team, user=user)
        await ack()
        view = home.weakest_modal(dash.weakest, channel=dash.channel)
        self._later(
            client.views_open(trigger_id=body["trigger_id"], view=view), "weakest criterion"
        )

    async def on_history(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """The first page from the Home; another page from a page's Newer/Older buttons."""
        team, user = _who(body)
        wanted = _value(body)
        page = await self._dashboards.history(
            team=team, user=user, page=int(wanted) if wanted.isdigit() else 0
        )
        await ack()
        view = home.history_modal(page)
        current = body.get("view") or {}
        if current.get("type") == "modal":
            opened = client.views_update(view_id=current["id"], hash=current.get("hash"), view=view)
        else:
            opened = client.views_open(trigger_id=body["trigger_id"], view=view)
        self._later(opened, "past answers")

    # --- admins: schedules ------------------------------------------------------------------

    async def on_schedule_button(
        self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        verb = str((body.get("actions") or [{}])[0].get("action_id", "")).rsplit("_", 1)[-1]
        self._later(self._schedule_button(client, body, verb), f"App Home: schedule {verb}")

    async def _schedule_button(
        self, client: AsyncWebClient, body: dict[str, Any], verb: str
    ) -> None:
        team, user = _who(body)
        check = await self._admins.check(client, user)
        if not check.allowed:
            await self.publish(client, team=team, user=user, notice=check.refusal)
            return
        schedule = await self._schedule(team, _value(body))
        if schedule is not None and verb == "preview":
            question = await self._teamlead.preview(schedule)
            view = home.preview_modal(schedule, question)
            await client.views_open(trigger_id=body["trigger_id"], view=view)
            return
        notice = await self._change(schedule, verb)
        await self.publish(client, team=team, user=user, notice=notice)

    async def _schedule(self, team: str, wanted: str) -> ScheduleView | None:
        if not wanted.isdigit():
            return None
        return await self._schedules.get(team=team, schedule_id=int(wanted))

    async def _change(self, schedule: ScheduleView | None, verb: str) -> str:
        if schedule is None or schedule.id is None:
            return "That schedule was removed meanwhile."
        if verb in ("pause", "resume"):
            await self._schedules.set_paused(
                team=schedule.team,
                channel=schedule.channel,
                schedule_id=schedule.id,
                paused=verb == "pause",
            )
            return f"Schedule #{schedule.id} {verb}d."
        if verb == "skip":
            day = await self._schedules.skip_next(schedule)
            if day is None:
                return f"Schedule #{schedule.id} has no next drill to skip."
            return f"Schedule #{schedule.id} skips its drill on {day:%a %Y-%m-%d}."
        question = await self._teamlead.post_now(schedule)
        return schedule_blocks.posted_now(schedule, question)

    async def on_post_now_submitted(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """The preview modal's "Post it now"."""
        await ack()
        team, user = _who(body)
        wanted = str(view.get("private_metadata") or "")

        async def post_now() -> None:
            check = await self._admins.check(client, user)
            if check.allowed:
                notice = await self._change(await self._schedule(team, wanted), "now")
            else:
                notice = check.refusal
            await self.publish(client, team=team, user=user, notice=notice)

        self._later(post_now(), "App Home: post now")
