# Deploy Drill: slim image, pinned dependencies, non-root, health-checked.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY rubrics ./rubrics
COPY migrations ./migrations
RUN pip install --no-cache-dir --no-deps . \
 && useradd --create-home --uid 10001 drill \
 && mkdir -p /data && chown drill /data

USER drill
# Run in the volume, which this user owns (/app is not writable to it): a relative path from
# an env file - or a blank DATABASE_URL, which means the default ./deploy_drill.db - lands here.
WORKDIR /data
ENV DATABASE_URL=sqlite:////data/deploy_drill.db \
    SPOOL_PATH=/data/deploy_drill_spool.db \
    RUBRICS_DIR=/app/rubrics \
    HOST=0.0.0.0 \
    PORT=3000
EXPOSE 3000
VOLUME ["/data"]
# Probes the PORT (and HOST) the bot was given, read as the bot reads them.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["deploy-drill", "healthcheck"]
CMD ["deploy-drill", "serve"]
