"""The offline grader's trained claim model: `claims.npz` and `claims.json`, written by
`deploy-drill grader train`. Naming the directory needs no numpy."""

from pathlib import Path

MODEL_DIR = Path(__file__).parent
