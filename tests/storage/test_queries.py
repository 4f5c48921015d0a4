"""Queries that run once per grading batch stay index lookups as the answer table grows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from bot.storage import attempt_rows, claiming, prompt_rows
from bot.storage.db import make_engine, make_sessionmaker, unit_of_work, upgrade_async


async def test_earlier_grades_are_read_by_index_and_only_for_the_pairs_asked(
    tmp_path: Path,
) -> None:
    url = f"sqlite+inline:///{tmp_path / 'q.db'}"
    await upgrade_async(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    statements: list[tuple[str, Any]] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _capture(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        statements.append((statement, parameters))

    try:
        async with unit_of_work(sessions) as session:
            prompts = [
                await prompt_rows.add_prompt(
                    session,
                    team="T1",
                    channel="C1",
                    question_id="deploy-ml-models",
                    source="command",
                )
                for _ in range(2)
            ]
            rows = [
                {
                    "team": "T1",
                    "channel": "C1",
                    "thread_ts": f"{p.id}.0",
                    "message_ts": f"{p.id}.{user}",
                    "user": user,
                    "prompt_id": p.id,
                    "question_id": "deploy-ml-models",
                    "answer": "we ship behind a canary",
                    "event_id": None,
                }
                for p in prompts
                for user in ("U1", "U2")
            ]
            await attempt_rows.insert_attempts(session, rows)
            await session.execute(sa.update(claiming.ATTEMPT).values(grade_json="{}"))
        a, b = (p.id for p in prompts)
        assert a is not None and b is not None
        statements.clear()
        async with unit_of_work(sessions, read_only=True) as session:
            found = await attempt_rows.graded_attempts_in_threads(session, {(a, "U1"), (b, "U2")})
        assert {key: [x.user for x in rows] for key, rows in found.items()} == {
            (a, "U1"): ["U1"],
            (b, "U2"): ["U2"],
        }
        sql, parameters = next(s for s in statements if s[0].lstrip().startswith("SELECT"))
        async with engine.connect() as conn:
            plan = (
                await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", tuple(parameters))
            ).all()
        details = " | ".join(str(row[-1]) for row in plan)
        assert "ix_attempt_prompt_user" in details, details
        assert "SCAN attempt" not in details, details
    finally:
        await engine.dispose()
