"""README.md's examples, run as written against a test stack loaded with `make run`'s demo
data: their bash blocks, with the lines make run fills in (URL, DOSSIER) set."""
from __future__ import annotations

import re
import subprocess
from datetime import date
from pathlib import Path

from tools import demo

README = Path(__file__).resolve().parents[2] / "README.md"


def bash_block(section: str) -> str:
    """The first bash block under the README's heading `section`."""
    text = README.read_text()
    return re.search(r"```bash\n(.*?)```", text[text.index(f"## {section}"):],
                     re.DOTALL).group(1)


def core_flow() -> str:
    return bash_block("The core flow with curl")


def demo_data(stack, smtp_server) -> demo.DemoData:
    """The demo data loaded (idempotent: each test may ask)."""
    def bootstrap(funder=None) -> bool:
        return demo.bootstrap_funder(stack.env["JALON_AMQP_URI"], funder)

    return demo.load(stack.base_url, bootstrap, smtp_server.emails, date.today())


def run_bash(script: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    run = subprocess.run(["bash", "-c", "set -euo pipefail\n" + script], cwd=cwd,
                         capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, run.stdout + run.stderr
    return run


def run_core_flow(stack, data: demo.DemoData, cwd: Path) -> None:
    """The core flow as written, from a folder holding what make run writes under ./var."""
    demo.write_sample_scan(cwd / "var")
    script = re.sub(r"^URL=.*$", f"URL={stack.base_url}", core_flow(), flags=re.M)
    run_bash(re.sub(r"^DOSSIER=.*$", f"DOSSIER={data.dossier_id}", script, flags=re.M), cwd)
