"""A plain ``pip install .`` (no extras) gives right answers.

The dev extra once hid a missing runtime dependency: ``cryptography`` came
only with it, so an installed tokenaudit called a valid RS256 token's
signature invalid. This test builds the wheel, installs it without extras
into a fresh virtual environment that holds only what the wheel declares
(the closure of its ``Requires-Dist``, linked from this environment, so no
network is needed), and runs the main commands there.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PROXMOX_LINE = ("openid authentication failure; rhost=::ffff:192.168.178.81 msg=Failed to verify ID token: "
                "Invalid audiences: `377572587972067335` is not a trusted audience")


def runtime_closure(requirements: list[str]) -> set[str]:
    """The distributions (canonical names) that ``requirements`` need, with the extras they name."""
    needed: set[str] = set()
    todo = [(Requirement(text), "") for text in requirements]
    while todo:
        requirement, extra = todo.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        extras = sorted(requirement.extras)
        key = name + "[" + ",".join(extras) + "]"
        if key in needed:
            continue
        needed.add(key)
        for text in metadata.requires(requirement.name) or []:
            todo.extend((Requirement(text), wanted) for wanted in ["", *extras])
    return {key.split("[")[0] for key in needed}


def wheel_requirements(wheel: Path) -> list[str]:
    """The wheel's ``Requires-Dist`` lines that hold without extras."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        text = archive.read(name).decode()
    lines = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Requires-Dist:")]
    return [line for line in lines if Requirement(line).marker is None
            or Requirement(line).marker.evaluate({"extra": ""})]  # type: ignore[union-attr]


def link_distribution(name: str, site_packages: Path) -> None:
    """Link every top-level file and folder of an installed distribution into ``site_packages``."""
    dist = metadata.distribution(name)
    tops = {Path(str(path)).parts[0] for path in dist.files or [] if not str(path).startswith("..")}
    base = Path(str(dist.locate_file("")))
    for top in tops:
        source, target = base / top, site_packages / top
        if source.exists() and not target.exists():
            target.symlink_to(source, target_is_directory=source.is_dir())


@pytest.fixture(scope="module")
def plain_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv holding the built wheel and only the distributions it declares."""
    work = tmp_path_factory.mktemp("plain")
    source = work / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "tokenaudit", source / "tokenaudit", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    subprocess.run([*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index", "-w",
                    str(work / "dist"), str(source)], check=True, capture_output=True)
    wheel = next((work / "dist").glob("tokenaudit-*.whl"))
    env = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    site_packages = next(env.glob("lib/python3*/site-packages"))
    for name in sorted(runtime_closure(wheel_requirements(wheel))):
        link_distribution(name, site_packages)
    python = env / "bin" / "python"
    subprocess.run([*pip, "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True)
    check = subprocess.run([*pip, "--python", str(python), "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    yield env


def run(env: Path, *args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``tokenaudit`` of ``env`` with a key file of its own."""
    key = (cwd or env) / "fingerprint.key"
    return subprocess.run([str(env / "bin" / "tokenaudit"), *args], input=stdin, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "TOKENAUDIT_KEY_FILE": str(key),
                               "XDG_CACHE_HOME": str(env / "cache"), "HOME": str(env)}, cwd=cwd, timeout=120)


def test_the_plain_env_lacks_the_dev_extra(plain_env: Path) -> None:
    probe = subprocess.run([str(plain_env / "bin" / "python"), "-c", "import pytest"], capture_output=True)
    assert probe.returncode != 0  # only the wheel's own requirements are there


def test_explain_with_jwks_calls_a_valid_rs256_token_valid(plain_env: Path, tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**public, "kid": "k1", "use": "sig"}]}))
    now = int(time.time())
    token = jwt.encode({"iss": "https://idp.example.com", "aud": "web", "azp": "web", "sub": "alice",
                        "iat": now, "exp": now + 600, "nonce": "n"}, key, algorithm="RS256", headers={"kid": "k1"})
    (tmp_path / "token.txt").write_text(token)
    result = run(plain_env, "explain", "token.txt", "--jwks", "jwks.json", "--client-id", "web",
                 "--issuer", "https://idp.example.com", "--expect", "id", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["causes"] == []
    assert data["signature_check"].startswith("signature verified: signature verifies with key 'k1' (RSA)")
    assert token.split(".")[2] not in result.stdout + result.stderr


def test_why_names_the_cause_of_a_pasted_proxmox_message(plain_env: Path) -> None:
    result = run(plain_env, "why", "--format", "json", "-", stdin=PROXMOX_LINE + "\n")
    assert result.returncode == 0, result.stderr
    [answer] = json.loads(result.stdout)
    assert answer["cause"] == "untrusted_extra_audience"
    assert answer["values"]["audience"] == "377572587972067335"


def test_ingest_and_analyze_the_bundled_samples(plain_env: Path, tmp_path: Path) -> None:
    ingest = run(plain_env, "ingest", str(ROOT / "sample_logs"), "--dataset", str(tmp_path / "ds"),
                 "--timezone", "Europe/Berlin", cwd=tmp_path)
    assert ingest.returncode in (0, 4), ingest.stderr
    analyze = run(plain_env, "analyze", "--dataset", str(tmp_path / "ds"), "--format", "json", cwd=tmp_path)
    assert analyze.returncode == 0, analyze.stderr
    groups = json.loads(analyze.stdout)
    causes = {group["cause"] for group in groups}
    assert {"untrusted_extra_audience", "expired", "issuer_mismatch"} <= causes
