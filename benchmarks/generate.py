"""Deterministic synthetic logs for the benchmarks, each with its ground truth.

Usage::

    python benchmarks/generate.py --format nginx --lines 1000000 --failure-share 0.03 --out nginx.log
    python benchmarks/generate.py --format proxmox_syslog --lines 1000000 --gzip --out syslog.gz

writes the log and ``<out>.truth.json``: how many lines are failure events, the
sum of their line numbers (1-based) and a SHA-256 of the list, and the
``grep -E`` pattern (the *floor*) that selects exactly those lines.

The same arguments always give the same bytes: a fixed seed, a fixed start time
(2026-11-20T00:00:00Z, one line every 20 ms), and gzip without a file name or
time in its header.

Line shapes are real ones (``sample_logs/`` and FIELD_NOTES §2a/§2b). Lines that
are not failures include words a naive ``grep`` would count (``401`` as a body
size, ``authentication failure`` from sshd's PAM, ``jwt_authn_access_denied``
in a documentation path), so only a parser, or a pattern anchored on the right
field, gets the count right.

=================  ==================  ==========================================
generator format   tokenaudit format   failure events
=================  ==================  ==========================================
nginx              combined_access     status 401 or 403
istio              istio_access        status 401 (``jwt_authn_access_denied{…}``)
                                       or 403 (``Audiences_in_Jwt_are_not_allowed``)
traefik_json       traefik_json        ``DownstreamStatus`` 401 or 403
proxmox_syslog     syslog_rfc3164      pvedaemon ``[openid ]authentication failure;``
journal_json       journal_json        the same messages as ``journalctl -o json``
=================  ==================  ==========================================
"""

from __future__ import annotations

import argparse
import calendar
import gzip
import hashlib
import json
import queue
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

SEED = 20261121
#: 2026-11-20T00:00:00Z in microseconds; line i is logged at START_US + i * STEP_US.
START_US = calendar.timegm((2026, 11, 20, 0, 0, 0)) * 1_000_000
STEP_US = 20_000
#: Lines rendered per write (about 10-30 MB of text).
CHUNK_LINES = 100_000
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_UUID_MASK = (1 << 128) - 1
#: An odd 128-bit constant: ``bits * _UUID_MIX`` spreads a line's 64 random bits over a request id.
_UUID_MIX = 0x9E3779B97F4A7C15F39CC0605CEDC835

#: render(line_no, t_us, is_failure, bits) -> one line, with its newline; ``bits`` are 64
#: random bits from which the line's values are picked.
Render = Callable[[int, int, bool, int], str]


@dataclass(frozen=True)
class Shape:
    """One generated log format."""

    name: str
    tokenaudit_format: str
    floor_pattern: str
    """``grep -E`` pattern (POSIX ERE, ``LC_ALL=C``) selecting exactly the failure lines."""
    title: str
    make: Callable[[random.Random], Render]


def _weighted(*items: tuple[int, object]) -> list[object]:
    """A list in which each item appears ``weight`` times, for picking by index."""
    return [item for weight, item in items for _ in range(weight)]


def _clients(rng: random.Random, count: int = 1024) -> list[str]:
    nets = ("192.168.178.", "10.20.", "203.0.113.", "198.51.100.", "172.18.0.")
    out = []
    for _ in range(count):
        net = rng.choice(nets)
        if net.count(".") == 2:
            out.append(f"{net}{rng.randrange(2, 255)}.{rng.randrange(1, 255)}")
        else:
            out.append(f"{net}{rng.randrange(1, 255)}")
    return out


def _second_cache(fmt: Callable[[time.struct_time], str]) -> Callable[[int], str]:
    """Format a time once per second: most lines share their second with the line before."""
    last = [-1, ""]

    def text(second: int) -> str:
        if second != last[0]:
            last[0], last[1] = second, fmt(time.gmtime(second))
        return last[1]  # type: ignore[return-value]

    return text


# --------------------------------------------------------------------------- nginx combined

_NGINX_UAS = (
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "Go-http-client/1.1",
    # traps: failure words in the user agent of successful requests
    "Mozilla/5.0 (compatible; AuthFailureMonitor/1.0; +https://status.example.com/401)",
    "check_http/v2.3.3 (monitoring-plugins 2.3.3) unauthorized-probe 403",
)
_NGINX_REFERERS = (
    "-", "-", "-", "-", "https://app.example.com/", "https://app.example.com/orders",
    # trap
    "https://auth.example.com/login?error=access_denied&error_description=Unauthorized",
    "-",
)
_NGINX_OK = _weighted(
    (30, ("GET", "/api/v1/orders/{id}", "200")),
    (8, ("POST", "/api/v1/orders", "201")),
    (10, ("GET", "/", "200")),
    (10, ("GET", "/static/app.3f9c2b71.js", "304")),
    (6, ("GET", "/healthz", "200")),
    (4, ("GET", "/oauth2/callback?code=Qx7aN2{id}&state=af0ifjsldkj", "302")),
    (3, ("GET", "/favicon.ico", "404")),
    (1, ("GET", "/api/v1/orders/{id}", "500")),
    # traps: failure words in the paths of successful requests
    (2, ("GET", "/docs/errors/401-unauthorized.html", "200")),
    (2, ("GET", "/api/v1/audit/events?status=403&reason=access_denied", "200")),
    (1, ("GET", "/help/authentication-failure", "200")),
    (1, ("GET", "/login?error=invalid_token&status=401", "200")),
)
_NGINX_FAIL = _weighted(
    (10, ("GET", "/api/v1/orders/{id}", "401", "179")),
    (4, ("POST", "/api/v1/orders", "401", "179")),
    (3, ("GET", "/oauth2/userinfo", "401", "179")),
    (3, ("GET", "/admin/", "403", "153")),
    (2, ("DELETE", "/api/v1/orders/{id}", "403", "153")),
)
#: Body sizes of successful responses; 401 and 403 among them trap ``grep ' 401 '``.
_NGINX_SIZES = ("612", "1873", "2326", "401", "15320", "48213", "403", "734", "96", "5120")


def _nginx(rng: random.Random) -> Render:
    clients = _clients(rng)
    stamp = _second_cache(
        lambda t: f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )
    nc, nu, nr, nok, nf, ns = (len(clients), len(_NGINX_UAS), len(_NGINX_REFERERS), len(_NGINX_OK),
                               len(_NGINX_FAIL), len(_NGINX_SIZES))

    def render(line_no: int, t_us: int, failure: bool, r: int) -> str:
        ip = clients[r % nc]
        ua = _NGINX_UAS[(r >> 10) % nu]
        ident = str(1000 + (r >> 20) % 90000)
        if failure:
            method, path, status, size = _NGINX_FAIL[(r >> 40) % nf]  # type: ignore[misc]
            ref = "-"
        else:
            method, path, status = _NGINX_OK[(r >> 40) % nok]  # type: ignore[misc]
            size = "0" if status in ("304", "302") else _NGINX_SIZES[(r >> 50) % ns]
            ref = _NGINX_REFERERS[(r >> 16) % nr]
        path = path.replace("{id}", ident)
        return (f'{ip} - - [{stamp(t_us // 1_000_000)}] "{method} {path} HTTP/1.1" {status} {size} '
                f'"{ref}" "{ua}"\n')

    return render


# --------------------------------------------------------------------------- istio default access log

_ISTIO_DENIED = _weighted(
    (8, ("401", "Jwt_is_expired", "Jwt is expired")),
    (4, ("401", "Jwt_is_missing", "Jwt is missing")),
    (3, ("401", "Jwt_verification_fails", "Jwt verification fails")),
    (3, ("401", "Jwks_doesn't_have_key_to_match_kid_or_alg_from_Jwt",
         "Jwks doesn't have key to match kid or alg from Jwt")),
    (2, ("401", "Jwt_issuer_is_not_configured", "Jwt issuer is not configured")),
    (1, ("401", "Jwt_not_yet_valid", "Jwt not yet valid")),
    (5, ("403", "Audiences_in_Jwt_are_not_allowed", "Audiences in Jwt are not allowed")),
)
_ISTIO_OK = _weighted(
    (40, ("GET", "/api/catalog", "200", "- via_upstream - \"-\"")),
    (20, ("GET", "/api/v1/orders/{id}", "200", "- via_upstream - \"-\"")),
    (6, ("POST", "/api/v1/orders", "201", "- via_upstream - \"-\"")),
    (4, ("GET", "/productpage", "304", "- via_upstream - \"-\"")),
    (2, ("GET", "/api/v2/unknown", "404", "NR route_not_found - \"-\"")),
    (1, ("GET", "/api/catalog", "503",
         "UF,URX upstream_reset_before_response_started{connection_failure} - "
         "\"delayed_connect_error:_111\"")),
    # trap: the failure detail in the path of a successful request
    (2, ("GET", "/docs/jwt_authn_access_denied{Jwt_is_expired}", "200", "- via_upstream - \"-\"")),
)
_ISTIO_UAS = ("curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
              "python-requests/2.32.3", "okhttp/4.12.0", "Go-http-client/2.0")
_ISTIO_HOSTS = (
    ("webapp.istioinaction.io:30000", "outbound|80||webapp.istioinaction.svc.cluster.local", "10.10.0.16:8080"),
    ("catalog.istioinaction.io:30000", "outbound|80||catalog.istioinaction.svc.cluster.local", "10.10.0.21:3000"),
    ("orders.example.com", "outbound|8080||orders.shop.svc.cluster.local", "10.10.1.7:8080"),
)
#: BYTES_RECEIVED of POSTs; 401 and 403 trap an unanchored ``" 40[13] ``.
_ISTIO_RECEIVED = ("0", "0", "0", "0", "128", "401", "403", "2048")


def _istio(rng: random.Random) -> Render:
    clients = _clients(rng)
    stamp = _second_cache(
        lambda t: f"{t.tm_year}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    )
    nc, nd, nok, nua, nh, nrx = (len(clients), len(_ISTIO_DENIED), len(_ISTIO_OK), len(_ISTIO_UAS),
                                 len(_ISTIO_HOSTS), len(_ISTIO_RECEIVED))

    def render(line_no: int, t_us: int, failure: bool, r: int) -> str:
        ms = (t_us // 1000) % 1000
        ip = clients[r % nc]
        ua = _ISTIO_UAS[(r >> 10) % nua]
        authority, cluster, upstream = _ISTIO_HOSTS[(r >> 14) % nh]  # type: ignore[misc]
        u = f"{(r * _UUID_MIX) & _UUID_MASK:032x}"
        rid = f"{u[:8]}-{u[8:12]}-{u[12:16]}-{u[16:20]}-{u[20:]}"
        port = 32768 + (r >> 20) % 28000
        if failure:
            status, detail, text = _ISTIO_DENIED[(r >> 40) % nd]  # type: ignore[misc]
            path = "/api/catalog" if (r >> 48) & 1 else f"/api/v1/orders/{1000 + (r >> 50) % 9000}"
            return (f'[{stamp(t_us // 1_000_000)}.{ms:03d}Z] "GET {path} HTTP/1.1" {status} - '
                    f'jwt_authn_access_denied{{{detail}}} - "-" 0 {len(text)} 0 - "{ip}" "{ua}" "{rid}" '
                    f'"{authority}" "-" {cluster} - 10.10.0.6:8080 {ip}:{port} - -\n')
        method, path, status, flags = _ISTIO_OK[(r >> 40) % nok]  # type: ignore[misc]
        path = path.replace("{id}", str(1000 + (r >> 50) % 9000))
        received = _ISTIO_RECEIVED[(r >> 54) % nrx] if method == "POST" else "0"
        sent = 0 if status in ("304", "404", "503") else 180 + (r >> 30) % 4000
        duration = 1 + (r >> 24) % 60
        if status in ("404", "503"):
            up, up_time, local = '"-"', "-", "-"
        else:
            up, up_time, local = f'"{upstream}"', str(max(duration - 1, 0)), f"10.10.0.6:{38000 + (r >> 36) % 9000}"
        return (f'[{stamp(t_us // 1_000_000)}.{ms:03d}Z] "{method} {path} HTTP/1.1" {status} {flags} '
                f'{received} {sent} {duration} {up_time} "{ip}" "{ua}" "{rid}" "{authority}" {up} '
                f"{cluster} {local} 10.10.0.6:8080 {ip}:{port} - -\n")

    return render


# --------------------------------------------------------------------------- traefik JSON

_TRAEFIK_ROUTES = (
    ("api@docker", "api-orders@docker", "http://10.0.1.5:8080", "10.0.1.5:8080", "api.example.com"),
    ("dashboard@internal", "api@internal", "", "", "traefik.example.com"),
    ("app@docker", "app@docker", "http://10.0.1.9:3000", "10.0.1.9:3000", "app.example.com"),
)
_TRAEFIK_OK = _weighted(
    (30, ("GET", "/api/v1/orders/{id}", 200)),
    (8, ("POST", "/api/v1/orders", 201)),
    (10, ("GET", "/", 200)),
    (6, ("GET", "/static/app.js", 304)),
    (3, ("GET", "/missing", 404)),
    (1, ("GET", "/api/v1/orders/{id}", 502)),
    # traps
    (2, ("GET", "/errors/401", 200)),
    (1, ("GET", "/docs/DownstreamStatus-403.html", 200)),
)
_TRAEFIK_FAIL = _weighted(
    (6, ("GET", "/api/v1/orders/{id}", 401, 0)),     # ForwardAuth (oauth2-proxy) said no
    (3, ("GET", "/dashboard/", 401, 0)),             # basic auth middleware
    (3, ("GET", "/api/v1/orders/{id}", 401, 401)),   # the backend's own JWT check
    (2, ("DELETE", "/api/v1/orders/{id}", 403, 403)),
    (1, ("GET", "/admin", 403, 0)),
)
_TRAEFIK_UAS = ("curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
                "python-requests/2.32.3", "Prometheus/2.53.0", "kube-probe/1.31 (expects 401)")
#: Content sizes; 401/403 trap a pattern on the number alone.
_TRAEFIK_SIZES = (612, 1873, 401, 2326, 403, 15320, 96)


def _traefik(rng: random.Random) -> Render:
    clients = _clients(rng)
    stamp = _second_cache(
        lambda t: f"{t.tm_year}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    )
    nc, nr, nok, nf, nua, ns = (len(clients), len(_TRAEFIK_ROUTES), len(_TRAEFIK_OK), len(_TRAEFIK_FAIL),
                                len(_TRAEFIK_UAS), len(_TRAEFIK_SIZES))
    # Keys are sorted, as logrus writes them; the runs of keys that do not change from line to line
    # are rendered once.
    routed = [
        (f'"RequestAddr":"{host}","RequestContentSize":',
         f'"RequestHost":"{host}","RequestMethod":"',
         f'","RequestPort":"-","RequestProtocol":"HTTP/2.0","RequestScheme":"https","RetryAttempts":0,'
         f'"RouterName":"{router}","ServiceAddr":"{addr}","ServiceName":"{service}","ServiceURL":"{url}",'
         f'"StartLocal":"')
        for router, service, url, addr, host in _TRAEFIK_ROUTES
    ]
    agents = [
        f'","TLSCipher":"TLS_AES_128_GCM_SHA256","TLSVersion":"1.3","entryPointName":"websecure",'
        f'"level":"info","msg":"","request_User-Agent":"{ua}","time":"'
        for ua in _TRAEFIK_UAS
    ]

    def render(line_no: int, t_us: int, failure: bool, r: int) -> str:
        ip = clients[r % nc]
        port = 32768 + (r >> 10) % 28000
        addr, host, rest = routed[(r >> 26) % nr]
        if failure:
            method, path, status, origin = _TRAEFIK_FAIL[(r >> 40) % nf]  # type: ignore[misc]
            down_size = 17
            origin_size = 17 if origin else 0
        else:
            method, path, status = _TRAEFIK_OK[(r >> 40) % nok]  # type: ignore[misc]
            origin = status
            down_size = 0 if status == 304 else _TRAEFIK_SIZES[(r >> 50) % ns]
            origin_size = down_size
        if "{" in path:
            path = path.replace("{id}", str(1000 + (r >> 30) % 9000))
        duration = 200_000 + (r >> 20) % 40_000_000
        origin_duration = duration - 150_000 if origin else 0
        req_size = _TRAEFIK_SIZES[(r >> 56) % ns] if method == "POST" else 0
        second = stamp(t_us // 1_000_000)
        start = f"{second}.{t_us % 1_000_000:06d}{(r >> 33) % 1000:03d}Z"
        return (
            f'{{"ClientAddr":"{ip}:{port}","ClientHost":"{ip}","ClientPort":"{port}","ClientUsername":"-",'
            f'"DownstreamContentSize":{down_size},"DownstreamStatus":{status},"Duration":{duration},'
            f'"OriginContentSize":{origin_size},"OriginDuration":{origin_duration},"OriginStatus":{origin},'
            f'"Overhead":{duration - origin_duration},{addr}{req_size},"RequestCount":{line_no},'
            f'{host}{method}","RequestPath":"{path}{rest}{start}","StartUTC":"{start}'
            f'{agents[(r >> 60) % nua]}{second}Z"}}\n'
        )

    return render


# --------------------------------------------------------------------------- Proxmox messages

#: (message template, weight) of failures; {rhost} and {user} are filled per line.
_PVE_FAIL = _weighted(
    (30, "openid authentication failure; rhost={rhost} msg=Failed to verify ID token: Invalid audiences: "
         "`377572587972067335` is not a trusted audience"),
    (4, "openid authentication failure; rhost={rhost} msg=Failed to verify ID token: Invalid audiences: "
        "must contain `377576883644006407` (found audiences: `377572587972067335`, `377576883644006408`)"),
    (8, "openid authentication failure; rhost={rhost} msg=Failed to verify ID token: Invalid issuer: "
        "expected `https://auth.example.com/` (found `https://auth.example.com`)"),
    (8, "openid authentication failure; rhost={rhost} msg=Failed to verify ID token: Expired: ID token "
        "expired at 2026-11-22 09:10:00 UTC (current time is 2026-11-22 09:10:41.302117 UTC)"),
    (5, "openid authentication failure; rhost={rhost} msg=Failed to verify ID token: Signature verification failed"),
    (6, "openid authentication failure; rhost={rhost} msg=Failed to contact token endpoint: Request failed"),
    (3, "openid authentication failure; rhost={rhost} msg=Failed to contact token endpoint: Server returned "
        "error response: invalid_grant: Code not valid"),
    (6, "openid authentication failure; rhost={rhost} msg=no openid auth state found (possible timeout)"),
    (1, "openid authentication failure; rhost={rhost} msg=Failed to verify ID token: Invalid subject: "
        "expected `282374728973` (found `282374728974`)"),
    (15, "authentication failure; rhost={rhost} user=root@pam msg=Authentication failure"),
    (8, "authentication failure; rhost={rhost} user={user} msg=invalid credentials"),
    (3, "authentication failure; rhost={rhost} user=alice@example.com@zitadel "
        "msg=OpenID realm does not allow password verification."),
    (2, "authentication failure; rhost={rhost} user={user} msg=no such user ('{user}')"),
)
_PVE_USERS = ("jose@pve", "backup@pve", "monitor@pve", "ops@pve")
_PVE_WORKERS = ("2345", "2346", "2347", "1418402", "1418403")

#: (process, pid or "", message template) of lines that are not failures; {n} {ip} {user} filled per line.
_PVE_OK = _weighted(
    (10, ("pvedaemon", "w", "<root@pam> successful auth for user 'root@pam'")),
    (6, ("pvedaemon", "w", "<root@pam> successful openid auth for user 'alice@example.com@zitadel'")),
    (6, ("pvedaemon", "w", "<root@pam> starting task UPID:pve1:000{n}:00A1B2C3:6740F1A2:qmstart:100:root@pam:")),
    (6, ("pvedaemon", "w", "<root@pam> end task UPID:pve1:000{n}:00A1B2C3:6740F1A2:qmstart:100:root@pam: OK")),
    (2, ("pvedaemon", "1100", "auth key pair too old, rotating..")),
    (4, ("pveproxy", "1200", "worker {n} finished")),
    (4, ("pveproxy", "1200", "worker {n} started")),
    (3, ("pveproxy", "w", "proxy detected vanished client connection")),
    (12, ("pvestatd", "1105", "status update time (1.{n} seconds)")),
    (8, ("pmxcfs", "1021", "[status] notice: received log")),
    (8, ("CRON", "c", "(root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)")),
    (4, ("kernel", "", "vmbr0: port 2(tap100i0) entered forwarding state")),
    (3, ("kernel", "", "fwbr100i0: port 2(tap100i0) entered blocking state")),
    (6, ("systemd", "1", "Started session-{n}.scope - Session {n} of User root.")),
    (4, ("sshd", "s", "Accepted publickey for root from {ip} port 51234 ssh2: ED25519 "
         "SHA256:Xq3m1N0yqz8cJk2t7R5m9uYbVv0wPp4eLh6sGdKfAaE")),
    # traps: failures of other programs that a naive grep counts
    (2, ("sshd", "s", "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh "
         "ruser= rhost={ip}  user=root")),
    (2, ("sshd", "s", "Failed password for root from {ip} port 40022 ssh2")),
)


def _pve_rhost(clients: list[str], r: int) -> str:
    ip = clients[r % len(clients)]
    return f"::ffff:{ip}" if r & 0x4000 else ip


def _pve_message(r: int, clients: list[str], failure: bool) -> tuple[str, str, str]:
    """(process, pid, message) of a Proxmox node's log line."""
    if failure:
        template = _PVE_FAIL[(r >> 40) % len(_PVE_FAIL)]
        user = _PVE_USERS[(r >> 20) % len(_PVE_USERS)]
        text = template.format(rhost=_pve_rhost(clients, r), user=user)  # type: ignore[attr-defined]
        return "pvedaemon", _PVE_WORKERS[(r >> 24) % len(_PVE_WORKERS)], text
    process, pid, template = _PVE_OK[(r >> 40) % len(_PVE_OK)]  # type: ignore[misc]
    n = str(10_000 + (r >> 20) % 80_000)
    if pid == "w":
        pid = _PVE_WORKERS[(r >> 24) % len(_PVE_WORKERS)]
    elif pid == "c" or pid == "s":
        pid = n
    if "{" in template:
        template = template.replace("{n}", n).replace("{ip}", clients[r % len(clients)])
    return process, pid, template


def _proxmox_syslog(rng: random.Random) -> Render:
    clients = _clients(rng)
    stamp = _second_cache(
        lambda t: f"{_MONTHS[t.tm_mon - 1]} {t.tm_mday:2d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    )

    def render(line_no: int, t_us: int, failure: bool, r: int) -> str:
        process, pid, message = _pve_message(r, clients, failure)
        tag = f"{process}[{pid}]" if pid else process
        return f"{stamp(t_us // 1_000_000)} pve1 {tag}: {message}\n"

    return render


# --------------------------------------------------------------------------- journalctl -o json

_JOURNAL_UNITS = {
    "pvedaemon": ("pvedaemon worke", "/usr/bin/perl", "pvedaemon worker", "pvedaemon.service", "3", "3"),
    "pveproxy": ("pveproxy worker", "/usr/bin/perl", "pveproxy worker", "pveproxy.service", "6", "3"),
    "pvestatd": ("pvestatd", "/usr/bin/perl", "pvestatd", "pvestatd.service", "6", "3"),
    "pmxcfs": ("pmxcfs", "/usr/bin/pmxcfs", "/usr/bin/pmxcfs", "pve-cluster.service", "5", "3"),
    "CRON": ("cron", "/usr/sbin/cron", "/usr/sbin/CRON -f -P", "cron.service", "6", "9"),
    "kernel": ("", "", "", "", "6", "0"),
    "systemd": ("systemd", "/usr/lib/systemd/systemd", "/sbin/init", "init.scope", "6", "3"),
    "sshd": ("sshd", "/usr/sbin/sshd", "sshd: root [priv]", "ssh.service", "6", "4"),
}
_BOOT = "3f6c0e5d9a7b4e21b0c8d1e2f3a4b5c6"
_MACHINE = "9b2e4c6d8f0a1b3c5d7e9f1a2b3c4d5e"
#: "status: \xff\xfe" as journald writes a MESSAGE that is not UTF-8 (sample_logs/journal_json).
_BYTES_MESSAGE = "[115,116,97,116,117,115,58,32,255,254]"


def _journal_json(rng: random.Random) -> Render:
    clients = _clients(rng)
    # The fields of a process that do not change from line to line, rendered once:
    # (before the pid, between the pids, after them).
    fixed: dict[str, tuple[str, str, str, str, str]] = {}
    for process, (comm, exe, cmdline, unit, priority, facility) in _JOURNAL_UNITS.items():
        if process == "kernel":
            parts = ('"_TRANSPORT":"kernel","SYSLOG_IDENTIFIER":"kernel",', "", "")
        else:
            parts = (
                f'"_TRANSPORT":"syslog","_UID":"0","_GID":"0","_CAP_EFFECTIVE":"1ffffffffff",'
                f'"SYSLOG_IDENTIFIER":"{process}","SYSLOG_PID":"',
                '","_PID":"',
                f'","_COMM":"{comm}","_EXE":"{exe}","_CMDLINE":"{cmdline}",'
                f'"_SYSTEMD_CGROUP":"/system.slice/{unit}","_SYSTEMD_UNIT":"{unit}",'
                f'"_SYSTEMD_SLICE":"system.slice",',
            )
        fixed[process] = (priority, facility, *parts)

    def render(line_no: int, t_us: int, failure: bool, r: int) -> str:
        process, pid, message = _pve_message(r, clients, failure)
        priority, facility, before, between, after = fixed[process]
        if failure:
            priority = "3"
        mono = t_us - START_US + 90_210_055
        if pid:
            body = f'{before}{pid}{between}{pid}{after}"_SOURCE_REALTIME_TIMESTAMP":"{t_us - 37}",'
        else:
            body = before
        if not failure and (r >> 8) % 500 == 0:
            message_json = _BYTES_MESSAGE
        else:
            message_json = f'"{message}"'
        return (f'{{"__CURSOR":"s=6b1f0e2a1c5d4b3a9f8e7d6c5b4a3921;i={line_no:x};b={_BOOT};m={mono:x};'
                f't={t_us:x};x={r & 0xFFFFFFFFFFFF:012x}","__REALTIME_TIMESTAMP":"{t_us}",'
                f'"__MONOTONIC_TIMESTAMP":"{mono}","_BOOT_ID":"{_BOOT}","_MACHINE_ID":"{_MACHINE}",'
                f'"_HOSTNAME":"pve2","PRIORITY":"{priority}","SYSLOG_FACILITY":"{facility}",'
                f'{body}"MESSAGE":{message_json}}}\n')

    return render


SHAPES: dict[str, Shape] = {
    shape.name: shape
    for shape in (
        Shape("nginx", "combined_access", '" 40[13] ', "nginx combined access log", _nginx),
        Shape("istio", "istio_access", r'^\[[^]]*\] "[^"]*" 40[13] ', "Istio default access log", _istio),
        Shape("traefik_json", "traefik_json", '"DownstreamStatus":40[13],', "Traefik JSON access log", _traefik),
        Shape("proxmox_syslog", "syslog_rfc3164",
              r" pvedaemon\[[0-9]+\]: (openid )?authentication failure; rhost=",
              "Proxmox VE node syslog (RFC 3164)", _proxmox_syslog),
        Shape("journal_json", "journal_json", r'"MESSAGE":"(openid )?authentication failure; rhost=',
              "Proxmox VE journal, journalctl -o json", _journal_json),
    )
}


def truth_path(out: Path) -> Path:
    """Where the ground truth of ``out`` is written: ``<out>.truth.json``."""
    return out.with_name(out.name + ".truth.json")


def _render_chunk(format_name: str, seed: int, failure_share: float, first: int, last: int) -> tuple[bytes, list[int]]:
    """Lines ``first`` to ``last - 1`` and the numbers of the failure lines among them.

    Each chunk has its own random stream, so chunks could be rendered in any order or in
    parallel and still give the same bytes.
    """
    render = SHAPES[format_name].make(random.Random(f"{seed}/{format_name}/pools"))
    getrandbits = random.Random(f"{seed}/{format_name}/{first}").getrandbits
    threshold = round(failure_share * (1 << 32))
    lines = []
    failed = []
    for line_no in range(first, last):
        bits = getrandbits(96)
        failure = (bits & 0xFFFFFFFF) < threshold
        if failure:
            failed.append(line_no)
        lines.append(render(line_no, START_US + line_no * STEP_US, failure, bits >> 32))
    return "".join(lines).encode("ascii"), failed


class _Writer:
    """Write chunks in a background thread, in order, at most two behind.

    zlib and file writes release the GIL, so compressing and writing one chunk
    overlaps with rendering the next.
    """

    def __init__(self, sink: BinaryIO) -> None:
        self._sink = sink
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while (data := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._sink.write(data)
                except BaseException as exc:  # handed to the caller in write() or __exit__
                    self._error = exc

    def write(self, data: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(data)

    def __enter__(self) -> _Writer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None and exc[0] is None:
            raise self._error


def generate(
    format_name: str,
    lines: int,
    out: Path,
    *,
    failure_share: float = 0.03,
    compress: bool = False,
    seed: int = SEED,
) -> dict[str, object]:
    """Write ``lines`` lines of ``format_name`` to ``out`` and its ground truth beside it.

    Parameters
    ----------
    format_name
        A key of :data:`SHAPES`.
    lines
        Number of lines.
    out
        The log file to write (gzip-compressed if ``compress``).
    failure_share
        Probability that a line is a failure event (each line drawn independently).
    compress
        Write gzip (level 6, no name or time in the header, so the bytes are reproducible).
    seed
        Seed of the generator; the same seed gives the same bytes.

    Returns
    -------
    dict
        The ground truth, also written to :func:`truth_path` ``(out)``: ``failures`` (count),
        ``failure_line_sum`` (sum of their 1-based line numbers), ``failure_lines_sha256``
        (of the numbers, one per line), ``floor_pattern``, ``bytes`` (uncompressed) and more.
    """
    shape = SHAPES[format_name]
    if not 0.0 <= failure_share <= 1.0:
        raise ValueError(f"failure share must be within [0, 1], not {failure_share}")
    count = line_sum = size = 0
    digest = hashlib.sha256()
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as raw:
        sink = gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) if compress else raw
        with _Writer(sink) as writer:  # compresses and writes while the next chunk is rendered
            for first in range(1, lines + 1, CHUNK_LINES):
                last = min(first + CHUNK_LINES, lines + 1)
                data, failed = _render_chunk(format_name, seed, failure_share, first, last)
                writer.write(data)
                size += len(data)
                count += len(failed)
                line_sum += sum(failed)
                if failed:
                    digest.update(("\n".join(map(str, failed)) + "\n").encode())
        if sink is not raw:
            sink.close()
    truth: dict[str, object] = {
        "format": format_name,
        "tokenaudit_format": shape.tokenaudit_format,
        "lines": lines,
        "failure_share": failure_share,
        "seed": seed,
        "gzip": compress,
        "failures": count,
        "failure_line_sum": line_sum,
        "failure_lines_sha256": digest.hexdigest(),
        "floor_pattern": shape.floor_pattern,
        "bytes": size,
        "file_bytes": out.stat().st_size,
    }
    truth_path(out).write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    return truth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--format", required=True, choices=sorted(SHAPES), dest="format_name")
    parser.add_argument("--lines", type=int, required=True, help="number of lines")
    parser.add_argument("--failure-share", type=float, default=0.03, help="share of failure lines [0.03]")
    parser.add_argument("--gzip", action="store_true", help="write gzip")
    parser.add_argument("--seed", type=int, default=SEED, help=f"generator seed [{SEED}]")
    parser.add_argument("--out", type=Path, required=True, help="file to write; the truth goes to FILE.truth.json")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    truth = generate(args.format_name, args.lines, args.out, failure_share=args.failure_share,
                     compress=args.gzip, seed=args.seed)
    took = time.perf_counter() - started
    packed = f" ({int(truth['file_bytes']) / 1e6:,.1f} MB gzip)" if args.gzip else ""  # type: ignore[call-overload]
    print(f"{args.out}: {args.lines:,} lines, {int(truth['bytes']) / 1e6:,.1f} MB{packed}, "  # type: ignore[call-overload]
          f"{truth['failures']:,} failures, in {took:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
