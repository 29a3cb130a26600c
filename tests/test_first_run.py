"""What a newcomer sees (issue 15): `serve --demo` fits on a screen and says where to go; a warm
`scripts/setup-env` installs nothing."""

import os
import subprocess
import sys
import time
from pathlib import Path

from eventonight.hooks.testing import free_port

ROOT = Path(__file__).resolve().parents[1]


def test_serve_demo_says_what_starts_the_accounts_and_where_to_go_on_one_screen(tmp_path):
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("EVENTONIGHT_")},
        "EVENTONIGHT_PORT": str(port),
        "EVENTONIGHT_DATA_DIR": str(tmp_path / "var"),
        "EVENTONIGHT_EMBEDDED_MONGO_PORT": str(free_port()),
    }
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "eventonight"), "serve", "--demo"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
    )  # fmt: skip
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip())
            if "stop with Ctrl+C" in line:
                break
    finally:
        process.terminate()
        process.wait(30)
    output = "\n".join(lines)
    assert "stop with Ctrl+C" in output, output
    assert len(lines) <= 40, f"{len(lines)} lines before the platform is ready:\n{output}"
    assert f"http://127.0.0.1:{port}/api/docs" in output and "/api/notifications/stream" in output
    assert "alice" in output and "eventonight-demo" in output, "the demo accounts"
    assert lines[0].startswith("starting eventonight (embedded SecantusDB under") and "ticketing" in lines[0]
    assert f"fake at http://127.0.0.1:{port}/" in output, "the public URL follows the port unless set"
    assert "hostname" not in output and "Traceback" not in output, output


def test_a_warm_setup_installs_nothing_and_prints_nothing():
    # The suite runs from an installed .venv: setting it up again is a no-op.
    result = subprocess.run([str(ROOT / "scripts" / "setup-env"), "test"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout == "" and result.stderr == "", result
