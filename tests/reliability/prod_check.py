"""`make prod-check`: the production layout of deploy/ started locally and checked end to end.

A throwaway PostgreSQL cluster, 2 `rescind serve --no-worker` servers on loopback ports, 1
`rescind worker`, and nginx (Debian's package) running deploy/nginx/rescind.conf itself (ports
and certificate paths rewritten) with a self-signed certificate; then: /readyz on each server
and through the proxy, HTTP redirected to HTTPS, a check, a request filed and decided, and its
webhook delivered to a local receiver. Everything is stopped at the end.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.pg import free_port
from tests.reliability.chaos import Cluster

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def _certificate(root: Path) -> tuple[Path, Path]:
    cert, key = root / "cert.pem", root / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def nginx_config(root: Path, ports: list[int], http: int, https: int) -> Path:
    """deploy/nginx/rescind.conf for this run, inside a minimal main configuration."""
    cert, key = _certificate(root)
    site = (DEPLOY / "nginx" / "rescind.conf").read_text()
    for i, port in enumerate(ports, start=1):
        site = site.replace(f"127.0.0.1:800{i}", f"127.0.0.1:{port}")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{http};")
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https} ssl http2;")
    site = "\n".join(line for line in site.splitlines() if "listen [::]" not in line)
    site = site.replace("/etc/letsencrypt/live/rescind.example.org/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/rescind.example.org/privkey.pem", str(key))
    (root / "rescind.conf").write_text(site)
    temp = root / "nginx-temp"
    temp.mkdir()
    main = f"""
{"user root;" if os.geteuid() == 0 else ""}
daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {root}/rescind.conf;
}}
"""
    path = root / "nginx.conf"
    path.write_text(main)
    return path


def _wait_for(what: str, ready: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ready():  # type: ignore[operator]
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def main() -> None:
    if not Path(NGINX).exists():
        sys.exit("nginx not found: apt-get install nginx (Debian), then run again")
    root = Path(tempfile.mkdtemp(prefix="rescind-prod-check-"))
    metrics_token = secrets.token_urlsafe(16)
    # As deploy/systemd/rescind-web@.service and rescind.env.example set them.
    cluster = Cluster(
        root,
        servers=2,
        workers=1,
        settings={"trusted_proxies": "127.0.0.1", "metrics_token": metrics_token},
    )
    nginx: subprocess.Popen[bytes] | None = None
    step = "start"
    try:
        started = time.monotonic()
        platform_key, staff_key = cluster.start()
        http_port, https_port = free_port(), free_port()
        conf = nginx_config(root, cluster.ports, http_port, https_port)
        subprocess.run([NGINX, "-t", "-c", str(conf)], check=True, capture_output=True)
        nginx = subprocess.Popen([NGINX, "-c", str(conf)])
        proxy = f"https://127.0.0.1:{https_port}"
        cert = str(root / "cert.pem")
        _wait_for("nginx", lambda: httpx.get(f"{proxy}/readyz", verify=cert).status_code == 200)
        print(
            f"up in {time.monotonic() - started:.1f} s: PostgreSQL, 2 servers, 1 worker, "
            f"nginx {NGINX} on {proxy}"
        )
        step = "readyz"
        for base in cluster.bases:
            assert httpx.get(f"{base}/readyz").status_code == 200, base
            print(f"ok  {base}/readyz")
        step = "redirect"
        answer = httpx.get(f"http://127.0.0.1:{http_port}/status?x=1")
        assert answer.status_code == 301
        assert answer.headers["location"].startswith("https://127.0.0.1")
        print("ok  http:// redirects to https://")
        step = "cookies"
        cookies = httpx.get(f"{proxy}/", verify=cert).headers.get_list("set-cookie")
        assert cookies and all("; Secure" in c for c in cookies), cookies
        print("ok  cookies are Secure behind the TLS proxy (its X-Forwarded-Proto is trusted)")
        step = "metrics"
        assert httpx.get(f"{proxy}/metrics", verify=cert).status_code == 401
        scrape = {"Authorization": f"Bearer {metrics_token}"}
        answer = httpx.get(f"{proxy}/metrics", verify=cert, headers=scrape)
        assert answer.status_code == 200 and "rescind_bank_entries" in answer.text
        print("ok  /metrics: 401 without the token, 200 with it")
        step = "check"
        platform = httpx.Client(
            base_url=proxy, verify=cert, headers={"Authorization": f"Bearer {platform_key}"}
        )
        staff = httpx.Client(
            base_url=proxy, verify=cert, headers={"Authorization": f"Bearer {staff_key}"}
        )
        pdq = "a5" * 32
        answer = platform.post(
            "/v1/check",
            json={"content_id": "pc-1", "url": "https://platform.example/pc/1", "pdq": [pdq]},
        )
        assert answer.status_code == 200 and answer.json()["verdict"] == "allow", answer.text
        print("ok  POST /v1/check through the proxy: allow")
        step = "request"
        answer = staff.post(
            "/v1/requests",
            json={
                "language": "en",
                "channel": "api",
                "requester": {"name": "Test Person", "email": "test.person@example.org"},
                "signature": "Test Person",
                "good_faith_statement": "Shared without consent (a test: no real image).",
                "items": [{"url": "https://platform.example/pc/1", "content_id": "pc-1"}],
            },
        )
        assert answer.status_code == 201, answer.text
        case = answer.json()["case_number"]
        print(f"ok  POST /v1/requests: 201 {case}")
        step = "decision"
        answer = staff.post(
            f"/v1/requests/{case}/decision", json={"outcome": "remove", "reason": "confirmed"}
        )
        assert answer.status_code == 200, answer.text
        print("ok  POST decision remove: 200")
        step = "webhook"
        _wait_for("the webhook", lambda: cluster.receiver.deliveries, timeout=60)
        event = cluster.receiver.deliveries[0]
        assert (event["content_id"], event["case_number"]) == ("pc-1", case), event
        print(
            f"ok  webhook {event['type']} for {event['content_id']} delivered, signature verified"
        )
        step = "backup"
        env = {
            **os.environ,
            "PATH": f"{cluster.pg.bin}:{os.environ['PATH']}",
            "RESCIND_DATABASE_URL": cluster.db_url,
            "BACKUP_DIR": str(root / "backups"),
        }
        script = DEPLOY / "backup" / "rescind-backup.sh"
        subprocess.run([str(script)], env=env, check=True, capture_output=True)
        dumps = list((root / "backups").glob("rescind-*.dump"))
        assert len(dumps) == 1 and dumps[0].stat().st_size > 0, dumps
        print(f"ok  {script.name}: {dumps[0].name}, {dumps[0].stat().st_size} bytes")
        print(f"PROD-CHECK PASSED in {time.monotonic() - started:.1f} s")
    except Exception:
        print(f"PROD-CHECK FAILED at step {step}; logs in {root}", file=sys.stderr)
        raise
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(timeout=20)
        cluster.stop()
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
