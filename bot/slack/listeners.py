"""Thin Slack listeners: parse the payload, call one use case, reply. One routing table.

Bolt answers Slack only when a listener returns (the app runs listeners before the
response, so an answer is stored before Slack hears 200). So a listener never waits for
the Web API or a response_url: a call there may hang until its timeout, longer than the
3 seconds Slack waits for an ack. Such calls run after the ack (`_after_ack`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import AnswerNotStored, UnknownQuestion
from bot.messages import Reply
from bot.slack import blocks, replies, review_blocks
from bot.slack.actions import MessageActions, action_value
from bot.slack.authorization import is_transient
from bot.slack.background import AfterAck
from bot.slack.commands import Command, Usage, parse_command, parse_mock
from bot.slack.fairness import share_reply
from bot.slack.fairness_actions import FairnessActions
from bot.slack.schedule_commands import ScheduleCommands
from bot.slack.team_commands import TeamCommands
from bot.use_cases import UseCases

log = logging.getLogger(__name__)

GRADED_SUBTYPES = (None, "thread_broadcast", "file_share")
# Slack delivers an event at most four times: the first delivery and three retries, each
# numbered in X-Slack-Retry-Num (slack-reference.md §1.3). After the last, none follows.
LAST_RETRY = 3


def reply_from_event(body: dict[str, Any]) -> Reply | None:
    """A gradable threaded reply, or None for everything the bot must ignore."""
    event = body.get("event") or {}
    if event.get("type") != "message" or event.get("subtype") not in GRADED_SUBTYPES:
        return None  # edits, deletions, joins, message_replied …
    if event.get("bot_id") or (event.get("app_id") and not event.get("user")):
        return None  # our own and other bots' messages
    thread_ts, ts, user = event.get("thread_ts"), event.get("ts"), event.get("user")
    if not thread_ts or not ts or thread_ts == ts or not user:
        return None  # top-level chatter
    team = body.get("team_id") or event.get("team") or ""
    return Reply(
        team=str(team),
        channel=str(event.get("channel", "")),
        thread_ts=str(thread_ts),
        ts=str(ts),
        user=str(user),
        text=str(event.get("text") or ""),
        event_id=body.get("event_id"),
    )


def is_direct_message(body: dict[str, Any]) -> bool:
    """A message in a DM with the bot (message.im): where spaced reviews are answered."""
    event = body.get("event") or {}
    return event.get("channel_type") == "im" or str(event.get("channel", "")).startswith("D")


def slack_retry(request: AsyncBoltRequest) -> int:
    """Which retry of an event this delivery is (X-Slack-Retry-Num); 0 for the first."""
    value = (request.headers.get("x-slack-retry-num") or ["0"])[0]
    return int(value) if value.isdigit() else 0


class Listeners:
    def __init__(
        self,
        use: UseCases,
        schedule_commands: ScheduleCommands,
        team_commands: TeamCommands,
        after_ack: AfterAck,
    ) -> None:
        self._use = use
        self._schedule_commands = schedule_commands
        self._team_commands = team_commands
        self._after_ack = after_ack  # work after the ack (Web API calls)
        self._message_actions = MessageActions(use, after_ack)
        self._fairness = FairnessActions(use, after_ack)

    def register(self, app: AsyncApp) -> None:
        # Bolt tries listeners in the order they were added, building arguments for each
        # matcher: answers (the bulk of the traffic) are matched first.
        app.event("message")(self.on_message)  # every subtype, so none is left unhandled
        app.command("/deploy-question")(self.on_command)
        app.action("forget_me_confirm")(self.on_forget_me_confirm)
        app.action("forget_me_cancel")(self.on_forget_me_cancel)
        app.action("drill_hint")(self.on_hint)
        app.action("drill_show_answer")(self.on_show_answer)
        app.action("drill_show_answer_confirmed")(self.on_show_answer)
        self._message_actions.register(app)  # Details, Rate the candidate
        self._fairness.register(app)  # "Was this fair?" and the dispute form
        self._team_commands.register(app)
        app.error(self.on_error)

    async def on_message(self, body: dict[str, Any], request: AsyncBoltRequest) -> None:
        reply = reply_from_event(body)
        if reply is not None and is_direct_message(body):
            # A DM thread is a spaced review's: graded on its criterion, never as a drill.
            await self._use.reviews.record_answer(reply)
            return
        if reply is not None:
            # Retries are answers like any other (stored once, by message): never skipped.
            last = slack_retry(request) >= LAST_RETRY
            await self._use.answers.record(reply, last_delivery=last)

    async def on_command(
        self, ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        team, channel, user = (
            command.get("team_id", ""),
            command.get("channel_id", ""),
            command.get("user_id", ""),
        )
        trigger_id = str(command.get("trigger_id") or "")
        if trigger_id and not await self._use.asking.claim_command(
            team=team, trigger_id=trigger_id
        ):
            # The same signed request again: a replay (Slack sends a command once).
            log.warning(
                "a command from %s was received again (trigger %s); ignored", user, trigger_id
            )
            await ack(text="That command was already handled.")
            return
        parsed = parse_command(command.get("text", ""))
        if isinstance(parsed, Usage):
            await ack(
                text=f"{parsed.problem}\nUsage: `{parsed.usage}` - or `/deploy-question help`."
            )
            return
        if parsed.name == "schedule":
            answer = self._schedule_commands.handle(
                client, parsed.args, team=team, channel=channel, user=user
            )
            if not self._schedule_commands.asks_slack(parsed.args):
                await ack(text=await answer)
                return
            # A change asks Slack who the user is (users.info) first: answered after the ack.
            await ack()
            self._after_ack(self._respond(respond, answer), "schedule command")
            return
        if parsed.name == "team":
            await self._team_commands.on_team(ack, respond, client, team=team, channel=channel)
            return
        if parsed.name == "digest":
            await self._team_commands.on_digest(
                ack, respond, client, parsed.args, team=team, channel=channel, user=user
            )
            return
        await self._run(ack, parsed, team=team, channel=channel, user=user)

    async def _run(
        self, ack: AsyncAck, cmd: Command, *, team: str, channel: str, user: str
    ) -> None:
        bank = self._use.bank
        if cmd.name == "help":
            await ack(text=replies.help_text(len(bank.questions)))
        elif cmd.name == "list":
            await ack(text=replies.question_list(list(bank.questions)))
        elif cmd.name == "ask":
            try:
                question = await self._use.asking.ask(
                    team=team,
                    channel=channel,
                    wanted=cmd.args[0] if cmd.args else None,
                    source="command",
                    requested_by=user,
                )
            except UnknownQuestion as exc:
                await ack(text=replies.unknown_question(exc.wanted, exc.known))
                return
            await ack(text=f"Posting *{blocks.escape(question.title)}* - answer in its thread.")
        elif cmd.name == "level":
            await self._use.people.set_level(team=team, user=user, level=cmd.args[0])
            await ack(text=f"Got it: I'll grade your answers for a *{cmd.args[0]}* level.")
        elif cmd.name == "forget-me":
            await ack(text="Delete your Deploy Drill data?", blocks=replies.forget_me_confirm())
        elif cmd.name == "stats":
            await ack(text=replies.stats_text(await self._use.reports.stats(team=team, user=user)))
        elif cmd.name == "leaderboard":
            await ack(text=await self._leaderboard(cmd.args, team=team, channel=channel, user=user))
        elif cmd.name == "mock":
            await ack(text=await self._mock(cmd.args, team=team, channel=channel, user=user))
        elif cmd.name == "share":
            await ack(text=await self._share(cmd.args, team=team, user=user))
        elif cmd.name == "review":
            await ack(text=await self._review(cmd.args, team=team, user=user))

    async def _respond(self, respond: AsyncRespond, answer: Awaitable[str]) -> None:
        await respond(text=await answer, response_type="ephemeral")

    async def _leaderboard(
        self, args: tuple[str, ...], *, team: str, channel: str, user: str
    ) -> str:
        verb = args[0].lower() if args else ""
        if verb in ("join", "leave"):
            await self._use.people.set_leaderboard(team=team, user=user, opted_in=verb == "join")
            if verb == "join":
                return (
                    "You're on the leaderboard. `/deploy-question leaderboard leave` takes you off."
                )
            return "You're off the leaderboard; your answers stay private to you."
        if verb:
            return (
                "Usage: `/deploy-question leaderboard` · `leaderboard join` · `leaderboard leave`"
            )
        return replies.leaderboard_text(
            await self._use.reports.leaderboard(team=team, channel=channel)
        )

    async def _share(self, args: tuple[str, ...], *, team: str, user: str) -> str:
        """`share on|off|status`: the opt-in to share disputed answers for calibration."""
        before = await self._use.calibration.sharing(team=team, user=user)
        if args[0] == "status":
            return share_reply(before, changed=False)
        wanted = args[0] == "on"
        await self._use.calibration.set_sharing(team=team, user=user, shared=wanted)
        return share_reply(wanted, changed=wanted != before)

    async def _mock(self, args: tuple[str, ...], *, team: str, channel: str, user: str) -> str:
        request = parse_mock(args, user=user)
        if isinstance(request, Usage):
            return f"{request.problem}\nUsage: `{request.usage}`"
        interviewer = request.interviewer
        try:
            question = await self._use.interviews.start(
                team=team,
                channel=channel,
                candidate=user,
                interviewer=interviewer,
                wanted=request.wanted,
            )
        except UnknownQuestion as exc:
            return replies.unknown_question(exc.wanted, exc.known)
        with_whom = (
            f" with <@{interviewer}> interviewing (they get the rubric privately)"
            if interviewer
            else ""
        )
        return f"Starting a mock interview on *{blocks.escape(question.title)}*{with_whom} - answer in its thread."

    async def _review(self, args: tuple[str, ...], *, team: str, user: str) -> str:
        """`review on [weekends|weekdays]`, `review off`, `review status` (parsed already)."""
        reviews = self._use.reviews
        if args[0] == "off":
            await reviews.turn_off(team=team, user=user)
            return review_blocks.review_off_reply()
        if args[0] == "on":
            weekends = {"weekends": True, "weekdays": False}.get(args[1]) if args[1:] else None
            return review_blocks.review_reply(
                await reviews.turn_on(team=team, user=user, weekends=weekends)
            )
        return review_blocks.review_reply(await reviews.status(team=team, user=user))

    async def on_hint(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        question = self._use.bank.get(action_value(body))
        if question is not None:
            self._after_ack(
                respond(
                    text=replies.hint_text(question),
                    response_type="ephemeral",
                    replace_original=False,
                ),
                "hint",
            )

    async def on_show_answer(
        self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        """The model answer, privately; before the user has answered, only after a confirmation."""
        await ack()
        question = self._use.bank.get(action_value(body))
        if question is None:
            return
        action = (body.get("actions") or [{}])[0].get("action_id")
        message = body.get("message") or {}
        container = body.get("container") or {}
        thread_ts = message.get("ts") or container.get("message_ts") or ""
        answered = await self._use.people.has_answered(
            team=(body.get("team") or {}).get("id", ""),
            channel=(body.get("channel") or {}).get("id") or container.get("channel_id", ""),
            thread_ts=thread_ts,
            user=(body.get("user") or {}).get("id", ""),
        )
        if answered or action == "drill_show_answer_confirmed":
            reply = respond(
                text=replies.model_answer_text(question),
                response_type="ephemeral",
                # "Show it anyway" was pressed in the confirmation: it becomes the answer.
                replace_original=action == "drill_show_answer_confirmed",
            )
        else:
            reply = respond(
                text="Show the model answer before answering?",
                blocks=replies.reveal_confirm(question.id),
                response_type="ephemeral",
                replace_original=False,
            )
        self._after_ack(reply, "model answer")

    async def on_forget_me_confirm(
        self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        team = (body.get("team") or {}).get("id", "")
        user = (body.get("user") or {}).get("id", "")
        deleted = await self._use.people.forget(team=team, user=user)
        self._after_ack(
            respond(
                replace_original=True, text=f"Done: deleted {deleted} answers and your profile."
            ),
            "forget-me",
        )

    async def on_forget_me_cancel(self, ack: AsyncAck, respond: AsyncRespond) -> None:
        await ack()
        self._after_ack(respond(replace_original=True, text="Nothing was deleted."), "forget-me")

    async def on_error(self, error: Exception, body: dict[str, Any]) -> BoltResponse | None:
        if isinstance(error, BoltUnhandledRequestError):
            # Events we don't subscribe to on purpose: a 200 stops Slack retrying them.
            return BoltResponse(status=200, body="")
        if isinstance(error, AnswerNotStored):
            # Not acknowledged, so Slack delivers it again (the database may be back by then).
            log.warning("%s; answered 503 so that Slack delivers it again", error)
            return BoltResponse(status=503, body="")
        kind = body.get("type") or ("command" if body.get("command") else "unknown")
        if kind == "event_callback" and is_transient(error):
            # Slack (auth.test, say) could not be asked: the event is retried, not lost.
            log.warning(
                "Slack unreachable (%s); answered 503 so that Slack delivers it again", error
            )
            return BoltResponse(status=503, body="")
        log.error("listener failed on a %s request: %s", kind, error, exc_info=error)
        if body.get("command"):
            return BoltResponse(
                status=200,
                body='{"response_type":"ephemeral","text":"Sorry - something went wrong on my side. Please try again in a minute."}',
                headers={"content-type": "application/json"},
            )
        return BoltResponse(status=200, body="")
