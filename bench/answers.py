"""Realistic answers of a given length, built from sentences about deploying ML models.

Sentences come from templates with slots (models, tools, numbers), so long answers
are mostly distinct sentences rather than one paragraph pasted again, and a seed
makes every answer reproducible. Some Slack markup (bullets, bold, links, emoji,
mentions, inline code) is mixed in, because the grader normalises it.
"""

from __future__ import annotations

import random

MODELS = (
    "fraud",
    "churn",
    "search ranking",
    "demand forecast",
    "recommendation",
    "credit risk",
    "ETA prediction",
    "spam filter",
    "pricing",
    "document classifier",
)
TOOLS = (
    "MLflow",
    "SageMaker",
    "Kubernetes",
    "FastAPI",
    "BentoML",
    "Airflow",
    "Docker",
    "Seldon",
    "Triton",
    "Vertex AI",
    "Kafka",
    "Grafana",
    "Prometheus",
    "Evidently",
)
TEAMS = ("payments", "growth", "search", "risk", "logistics", "marketplace", "support")

TEMPLATES = {
    "context": (
        "First I ask how the {model} predictions are consumed: in a request path with a "
        "{ms} ms latency budget, or in a nightly batch job.",
        "For the {model} model the product needed answers in real time, roughly {ms} ms "
        "end to end, because a slow response blocks the {team} flow.",
        "Before choosing any tooling I want to know what a wrong prediction costs the {team} "
        "team and how fresh the features have to be.",
        "The traffic was about {qps} requests per second at peak, so the cost per prediction "
        "mattered as much as accuracy.",
        "A nightly batch run was enough for the {model} scores since the {team} team only "
        "looked at them each morning.",
    ),
    "packaging": (
        "We packaged the {model} model with its preprocessing code in one {tool} image with "
        "pinned dependencies from a lockfile.",
        "Every build was registered in {tool} with the git commit, the training data snapshot "
        "and the hyperparameters, so we could trace exactly how it was made.",
        "The feature transformations ship inside the same artifact as the model, which avoids "
        "training-serving skew.",
        "The artifact is versioned as v{version} in the model registry together with the "
        "exact environment it was trained in.",
    ),
    "serving": (
        "We served it behind a REST API on {tool} with autoscaling on CPU and about {replicas} "
        "replicas at peak.",
        "Because the {team} product needed answers inside the request, an online endpoint made "
        "more sense than a batch job.",
        "Scores for the {model} model were written by a scheduled {tool} job to a table the "
        "application reads.",
        "A stream consumer on {tool} scored events as they arrived and wrote the results back "
        "to a topic.",
    ),
    "validation": (
        "Before release CI checks the input schema: types, ranges, null rates and unseen "
        "categories.",
        "We compared the candidate against the current production model on a holdout of the "
        "last {days} days and required it to be at least as good.",
        "We load tested the service at {x}x peak traffic to make sure p99 latency stayed under "
        "{ms} ms.",
        "A data contract with the upstream {team} team caught a renamed column before it "
        "reached the model.",
    ),
    "rollout": (
        "We ran it in shadow mode for a week, scoring real traffic while discarding its decisions.",
        "Then a {pct}% canary, with automatic promotion only if error rate and latency stayed "
        "flat.",
        "The rollout was gradual behind a feature flag, with the old rules engine as a fallback "
        "if the service timed out.",
        "We A/B tested the new {model} model against the old one for two weeks before the full "
        "rollout.",
    ),
    "monitoring": (
        "After launch we monitor p99 latency and error rate in {tool}, plus feature drift with "
        "PSI on the top features.",
        "We watch the prediction distribution and the business KPI, with alerts when either "
        "moves more than {pct}%.",
        "Labels for the {model} model arrive {days} days late, so we backfill them to track "
        "real precision and recall.",
        "Dashboards in {tool} show input drift next to conversion, so the {team} team sees both "
        "model and product health.",
    ),
    "rollback": (
        "If the metrics degrade we roll back by pointing the registry alias at the previous "
        "version, which takes about {minutes} minutes.",
        "We keep the previous version warm so a rollback is one config change.",
        "We retrain monthly, and earlier when drift alerts fire for more than {days} days in a "
        "row.",
    ),
    "story": (
        "At my last job on the {team} team I deployed a {model} model this way.",
        "The shadow week caught an encoding bug before any customer saw it.",
        "As a result the {team} team got scores a day earlier and losses dropped about {pct}%.",
        "My task was to replace a rules engine, so I led the migration and the canary, and "
        "the result was a {pct}% lift in conversion.",
    ),
    "filler": (
        "Honestly a lot of this depends on the team and the constraints.",
        "I would also write a short runbook so on-call knows what to do.",
        "Documentation matters too, because someone else will own this later.",
        "We kept the whole thing as simple as we could at first.",
        "There is always a trade-off between speed of delivery and safety.",
        "I like to agree on the success metric with the {team} stakeholders up front.",
    ),
}
ORDER = tuple(TEMPLATES)
MARKUP = (
    "• {s}",
    "*{s}*",
    "{s} :rocket:",
    "{s} (see <https://wiki.example.com/{team}|our wiki>)",
    "{s} cc <@U0{n:05d}>",
    "{s} We used `{tool}` for that.",
)


def _sentence(rng: random.Random, stage: str) -> str:
    text = rng.choice(TEMPLATES[stage]).format(
        model=rng.choice(MODELS),
        tool=rng.choice(TOOLS),
        team=rng.choice(TEAMS),
        ms=rng.choice((20, 50, 80, 100, 150, 200, 300)),
        qps=rng.choice((50, 200, 800, 2000, 12000)),
        version=f"{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}",
        replicas=rng.randint(2, 40),
        days=rng.choice((7, 14, 30, 45, 60, 90)),
        x=rng.choice((2, 3, 5)),
        pct=rng.choice((1, 2, 5, 10, 12, 18, 25)),
        minutes=rng.choice((1, 2, 3, 5, 10)),
    )
    if rng.random() < 0.12:
        text = rng.choice(MARKUP).format(
            s=text, team=rng.choice(TEAMS), n=rng.randint(0, 99999), tool=rng.choice(TOOLS)
        )
    return text


def answer(*, words: int | None = None, chars: int | None = None, seed: int = 0) -> str:
    """An answer of about `words` words (or exactly `chars` characters), in the usual order.

    A short answer covers a few stages; a long one walks through every stage, then goes
    round again with new details, as people do when they keep typing.
    """
    if (words is None) == (chars is None):
        raise ValueError("give words or chars")
    rng = random.Random(seed)
    paragraphs: list[list[str]] = [[]]
    count = 0
    stages = [s for s in ORDER if s != "filler"]
    if words is not None and words < 60:
        stages = rng.sample(stages, 3)
    i = length = 0
    while True:
        stage = "filler" if rng.random() < 0.1 else stages[i % len(stages)]
        i += 1
        sentence = _sentence(rng, stage)
        paragraphs[-1].append(sentence)
        count += len(sentence.split())
        length += len(sentence) + 2
        if stage == "rollback" and rng.random() < 0.5:
            paragraphs.append([])
        if (words is not None and count >= words) or (chars is not None and length >= chars * 1.05):
            break
    text = "\n\n".join(" ".join(p) for p in paragraphs if p)
    if words is not None:
        return _trim_words(text, words)
    return text[:chars]


def _trim_words(text: str, words: int) -> str:
    out: list[str] = []
    for paragraph in text.split("\n\n"):
        kept = paragraph.split()[: words - sum(len(p.split()) for p in out)]
        if not kept:
            break
        out.append(" ".join(kept))
    result = "\n\n".join(out)
    return result if result.endswith((".", "!", "?")) else result + "."


def pool(n: int, *, words: int | None = None, chars: int | None = None, seed: int = 0) -> list[str]:
    """`n` different answers of one size."""
    return [answer(words=words, chars=chars, seed=seed * 100_003 + i) for i in range(n)]
