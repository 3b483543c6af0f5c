"""The README's scenario example is a valid scenario and its commands exist."""

from __future__ import annotations

import re
from pathlib import Path

from counterram.scenario import load_text

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_scenario_example_validates():
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- scenario-example -->\s*```yaml\n(.*?)```", text, re.S)
    assert match, "README lost its scenario example"
    scenario = load_text(match.group(1), "README.md")
    assert scenario.name == "my-outpost"
    assert scenario.total_rounds == 6


def test_readme_starts_with_two_commands():
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 2
    install_and_run, dev_and_test = blocks[0].strip(), blocks[1].strip()
    assert "pip install ." in install_and_run and "counterram" in install_and_run
    assert "[dev]" in dev_and_test and "pytest" in dev_and_test
