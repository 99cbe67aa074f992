"""Benchmark rows for secret generation: ours in-process vs the command-line programs."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from tools.bench.harness import Bench
from tools.bench.registry import bench_row
from tools.bench.report import Row, median_ms

OPENSSL_CHAIN = r"""
set -e
cd "$1"
cat > leaf.ext <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
subjectAltName=DNS:localhost
EXT
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 365 \
  -subj "/CN=Root CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
for leaf in server client peer; do
  openssl req -newkey rsa:2048 -nodes -keyout $leaf.key -out $leaf.csr -subj "/CN=$leaf" 2>/dev/null
  openssl x509 -req -in $leaf.csr -CA ca.pem -CAkey ca.key -set_serial 0x$(openssl rand -hex 16) \
    -days 365 -extfile leaf.ext -out $leaf.pem 2>/dev/null
done
"""


def _tls(key_type: str) -> float:
    from secrets_app.types import Context, get_type

    tls = get_type("tls")
    return median_ms(
        lambda _: tls.clean({"hosts": "localhost", "keyType": key_type}, Context()), 15, warmup=2
    )


@bench_row("types")
def rows(bench: Bench) -> list[Row]:
    """Generating TLS chains, SSH keys and htpasswd lines, in this process."""
    from secrets_app.types import Context, get_type

    work = Path(tempfile.mkdtemp(prefix="bench-types-"))
    script = work / "chain.sh"
    script.write_text(OPENSSL_CHAIN)
    try:
        ours = _tls("rsa-2048")
        base = median_ms(
            lambda _: subprocess.run(["bash", str(script), str(work)], check=True), 15, warmup=2
        )
        ecdsa = _tls("ecdsa-p256")
        ssh = median_ms(
            lambda _: get_type("ssh").clean({"user": "bench", "identifier": "b"}, Context()), 50
        )
        htpasswd = get_type("htpasswd")
        hours = median_ms(
            lambda _: htpasswd.clean({"username": "u", "password": "pw-bench-123"}, Context()), 20
        )
        hbase = median_ms(
            lambda _: subprocess.run(
                ["htpasswd", "-nbB", "-C", "10", "u", "pw-bench-123"],
                check=True,
                capture_output=True,
            ),
            20,
        )
    finally:
        shutil.rmtree(work)
    return [
        Row(
            "TLS chain generation, RSA 2048 (CA + server, client, peer) vs openssl CLI, same chain",
            ours,
            base,
            "ratio <= 1.0",
            ours / base <= 1.0,
        ),
        Row("TLS chain generation, ECDSA P-256", ecdsa, None, "< 10 ms", ecdsa < 10),
        Row("SSH ed25519 key pair generation", ssh, None, "< 5 ms", ssh < 5),
        Row(
            "htpasswd (bcrypt cost 10) vs htpasswd -B -C 10",
            hours,
            hbase,
            "ratio <= 1.1",
            hours / hbase <= 1.1,
        ),
    ]
