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
ENV DATABASE_URL=sqlite:////data/deploy_drill.db \
    SPOOL_PATH=/data/deploy_drill_spool.db \
    RUBRICS_DIR=/app/rubrics \
    HOST=0.0.0.0 \
    PORT=3000
EXPOSE 3000
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4).status == 200 else 1)"
CMD ["deploy-drill", "serve"]
