"""`deploy-drill healthcheck`: whether the bot on this machine answers /healthz with a 200.

The image's HEALTHCHECK runs it, so the probe goes to the PORT (and HOST) the bot was
given, read by the same settings - blank values and `.env` included.
"""

from __future__ import annotations

import urllib.error
import urllib.request

from bot.config import Settings

# Where to reach a server listening on every address.
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1"}


def health_url(settings: Settings) -> str:
    host = _WILDCARDS.get(settings.host, settings.host)
    return f"http://{f'[{host}]' if ':' in host else host}:{settings.port}/healthz"


def unhealthy(url: str, *, timeout: float) -> str | None:
    """None when `url` answers 200; otherwise why not, in one line."""
    # Straight to the bot: a proxy from the environment must not answer for it.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        return f"{url}: {getattr(reason, 'strerror', None) or reason}"
    return None if status == 200 else f"{url}: HTTP {status}"
