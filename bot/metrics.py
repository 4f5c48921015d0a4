"""Prometheus metrics, on a registry per app instance (tests build several apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.prompts = Counter(
            "drill_prompts_total", "Questions queued, by source", ["source"], registry=r
        )
        self.answers = Counter("drill_answers_total", "Threaded answers stored", registry=r)
        self.duplicates = Counter(
            "drill_duplicate_deliveries_total",
            "Answers delivered again (Slack retries)",
            registry=r,
        )
        self.answers_refused = Counter(
            "drill_answers_refused_total",
            "Answer deliveries answered 503 (not stored: the database is unreachable)",
            registry=r,
        )
        self.answers_spooled = Counter(
            "drill_answers_spooled_total",
            "Answers kept in the local spool on Slack's last delivery (database unreachable)",
            registry=r,
        )
        self.graded = Counter(
            "drill_graded_total", "Answers graded", ["grader", "band"], registry=r
        )
        self.nudges = Counter("drill_nudges_total", "Replies that were not gradable", registry=r)
        self.grading_seconds = Histogram(
            "drill_grading_seconds",
            "Time to grade one answer",
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 20),
            registry=r,
        )
        self.sent = Counter(
            "drill_messages_sent_total", "Messages posted to Slack", ["kind"], registry=r
        )
        self.send_retries = Counter(
            "drill_message_retries_total", "Posts put off for a retry", ["reason"], registry=r
        )
        self.send_failures = Counter(
            "drill_message_failures_total", "Posts given up as undeliverable", registry=r
        )
        self.llm_tokens = Counter(
            "drill_llm_tokens_total", "Tokens used by the LLM grader", registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
