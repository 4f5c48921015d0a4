"""The Docker image played out without a Docker engine: the Dockerfile read as data, and its
container laid out in a temporary root.

`Dockerfile.read()` takes what the container depends on - ENV, WORKDIR, USER (with the uid
its `useradd` gives), COPY, VOLUME, CMD and HEALTHCHECK. `ImageRoot` builds the container's
filesystem under a temporary directory: what COPY puts in the image, read-only; the volume
and the home directory owned by the image's user; a `deploy-drill` entry point like the one
pip installs. `ImageRoot.env()` is what `docker run --env-file FILE` gives the process: the
image's ENV (its paths moved under the root), then the file read as Docker reads it. As root
the command runs as the image's uid; otherwise as the current user, who cannot write the
read-only copies either.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from tests.conftest import ROOT

# What python:3.11-slim sets before the Dockerfile's own ENV.
BASE_ENV = {"PATH": "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


@dataclass
class Dockerfile:
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    user: str = "root"
    uid: int = 0
    copies: list[tuple[list[str], str]] = field(default_factory=list)  # (sources, destination)
    volumes: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path = ROOT / "Dockerfile") -> Dockerfile:
        image = cls()
        text = re.sub(r"\\\n", " ", path.read_text())  # line continuations
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            word, _, rest = line.partition(" ")
            rest = rest.strip()
            match word.upper():
                case "ENV":
                    image.env.update(part.split("=", 1) for part in shlex.split(rest))
                case "WORKDIR":
                    image.workdir = str(PurePosixPath(image.workdir, rest))
                case "USER":
                    image.user = rest
                case "COPY":
                    *sources, destination = shlex.split(rest)
                    into = destination.endswith("/") or len(sources) > 1  # a directory
                    resolved = str(PurePosixPath(image.workdir, destination)) + "/" * into
                    image.copies.append((sources, resolved))
                case "VOLUME":
                    image.volumes.extend(json.loads(rest))
                case "CMD":
                    image.cmd = _command(rest)
                case "HEALTHCHECK":
                    image.healthcheck = _command(rest.split(" CMD ", 1)[1])
                case "RUN":
                    if found := re.search(r"useradd .*--uid (\d+) (\w+)", rest):
                        image.uid = int(found.group(1))
        return image


def _command(text: str) -> list[str]:
    """An exec-form (JSON) command as it is; a shell-form one as Docker runs it."""
    text = text.strip()
    return list(json.loads(text)) if text.startswith("[") else ["/bin/sh", "-c", text]


def read_env_file(text: str) -> dict[str, str]:
    """`docker run --env-file`: NAME=value per line, `#` lines skipped, no quotes removed."""
    found = {}
    for line in text.splitlines():
        line = line.lstrip()
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            found[name] = value
    return found


class ImageRoot:
    """The container's filesystem under a temporary directory (remove it with `remove()`)."""

    def __init__(self, image: Dockerfile) -> None:
        self.image = image
        self.path = Path(tempfile.mkdtemp(prefix="deploy-drill-image-"))
        self.path.chmod(0o755)  # the image's user must reach what is inside
        self.as_root = os.geteuid() == 0
        self.uid = image.uid if self.as_root else os.geteuid()
        self.home = self.inside(f"/home/{image.user}")
        for sources, destination in image.copies:
            for source in sources:
                target = self.inside(destination)
                target = target / source if destination.endswith("/") else target
                target.parent.mkdir(parents=True, exist_ok=True)
                if (ROOT / source).is_dir():
                    shutil.copytree(ROOT / source, target, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    shutil.copy(ROOT / source, target)
        for owned in [*image.volumes, f"/home/{image.user}"]:
            self.inside(owned).mkdir(parents=True, exist_ok=True)
            os.chown(self.inside(owned), self.uid, self.uid)
        self.read_only = sorted({self.inside(d).parts[len(self.path.parts)] for _, d in image.copies})
        for top in self.read_only:
            _set_writable(self.path / top, False)
        try:
            self.python = self._python()
        except LookupError:
            self.remove()
            raise
        self.bin = self.inside("/usr/local/bin")
        self.bin.mkdir(parents=True)
        script = self.bin / "deploy-drill"  # what pip writes for the console script
        script.write_text(
            f"#!{self.python}\nimport sys\nfrom bot.__main__ import main\n"
            "if __name__ == '__main__':\n    sys.exit(main())\n"
        )
        script.chmod(0o755)
        (self.bin / "python").symlink_to(self.python)  # as in the python base image

    def inside(self, path: str) -> Path:
        return self.path / path.lstrip("/")

    def rooted(self, value: str) -> str:
        """An ENV value with the image's own directories moved under the root."""
        tops = {PurePosixPath(p).parts[1] for p in [self.image.workdir, *self.image.volumes]}
        tops |= {PurePosixPath(d).parts[1] for _, d in self.image.copies}
        pattern = r"(?<![\w.])/(" + "|".join(map(re.escape, sorted(tops))) + r")(?=/|$)"
        return re.sub(pattern, lambda m: f"{self.path}/{m.group(1)}", value)

    def env(self, env_file: str) -> dict[str, str]:
        env = {**BASE_ENV, **self.image.env}
        env = {name: self.rooted(value) for name, value in env.items()}
        env["PATH"] = f"{self.bin}:{env['PATH']}"
        env["HOME"] = str(self.home)
        # The image installs the code into site-packages; here it comes from this checkout.
        env["PYTHONPATH"] = f"{sysconfig.get_paths()['purelib']}:{ROOT}"
        return {**env, **read_env_file(env_file)}

    @property
    def workdir(self) -> Path:
        return self.inside(self.image.workdir)

    def popen_user(self) -> dict[str, object]:
        """Popen arguments that run a command as the image's user (when the tests are root)."""
        return {"user": self.uid, "group": self.uid, "extra_groups": []} if self.as_root else {}

    def _python(self) -> str:
        """An interpreter of this version that the image's user can run (this one if it can)."""
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        for candidate in (sys.executable, f"/usr/local/bin/{version}", f"/usr/bin/{version}"):
            try:
                probe = subprocess.run(
                    [candidate, "-c", "import bot.cli"],
                    env={"PYTHONPATH": f"{sysconfig.get_paths()['purelib']}:{ROOT}"},
                    cwd=self.path,
                    capture_output=True,
                    **self.popen_user(),
                )
            except OSError:  # missing, or out of this user's reach
                continue
            if probe.returncode == 0:
                return candidate
        raise LookupError(f"no {version} that uid {self.uid} can run and import the bot with")

    def remove(self) -> None:
        for top in self.read_only:
            _set_writable(self.path / top, True)
        shutil.rmtree(self.path)


def _set_writable(top: Path, writable: bool) -> None:
    bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    for path in [top, *top.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod((mode | stat.S_IWUSR) if writable else (mode & ~bits))
