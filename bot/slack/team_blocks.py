"""What the team view and the on-demand digest say (names only for leaderboard members)."""

from __future__ import annotations

from typing import Any

from bot.progress import Digest
from bot.slack.blocks import digest_text
from bot.slack.kit import actions, as_dicts, button, context, cut, section
from bot.team import People, TeamWeek

PRIVACY = "Names show only for people on the leaderboard; everyone else is counted."


def people(group: People) -> str:
    """`<@A>, <@B> and 2 others`, `3 people`, or `nobody`."""
    names = [f"<@{u}>" for u in group.named]
    if group.others:
        names.append(
            f"{group.others} other{'s' if group.others > 1 else ''}"
            if names
            else f"{group.others} {'people' if group.others > 1 else 'person'}"
        )
    if not names:
        return "nobody"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _among(week: TeamWeek) -> str:
    everyone = week.practised.total + week.not_yet.total
    if week.from_members:
        return f"*{week.practised.total}* of {everyone} members"
    return (
        f"*{week.practised.total}* of the {everyone} people who answered here in the last 8 weeks"
    )


def team_text(channel: str, week: TeamWeek) -> str:
    """`/deploy-question team`: who practised in the channel in the last seven days."""
    lines = [
        f"*Who practised in <#{channel}>* since {week.since:%a %Y-%m-%d} (the last 7 days): "
        f"{_among(week)}",
        f"• Practised ({week.answers} answer{'s' if week.answers != 1 else ''}): "
        f"{people(week.practised)}",
        f"• Not yet: {people(week.not_yet) if week.not_yet.total else 'nobody - everyone practised'}",
        f"_{PRIVACY}_",
    ]
    if not week.from_members:
        lines.append(
            "_I couldn't see this channel's members, so those who never answered are not "
            "counted (the app needs the `channels:read` and `groups:read` scopes: reinstall it)._"
        )
    return cut("\n".join(lines))


def team_line(channel: str, week: TeamWeek) -> str:
    """One channel of the App Home's team view."""
    not_yet = people(week.not_yet) if week.not_yet.total else "nobody"
    return f"<#{channel}>: {_among(week)} practised - {people(week.practised)} · not yet: {not_yet}"


def digest_reply(channel: str, data: Digest, *, admin: bool) -> dict[str, Any]:
    """`/deploy-question digest`: the week's digest, privately; admins may post it."""
    pieces: list[Any] = [section(digest_text(data))]
    if admin:
        pieces.append(
            actions(
                button(
                    "Post it in the channel",
                    "digest_post",
                    channel,
                    style="primary",
                    confirm=(
                        "Post the digest?",
                        "Everyone in the channel sees it, with its chart.",
                        "Post",
                    ),
                )
            )
        )
    else:
        pieces.append(context("It is posted in the channel, with a chart, once a week."))
    return {"text": digest_text(data), "blocks": as_dicts(pieces)}
