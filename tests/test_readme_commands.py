"""Every ``semcolor-train`` command printed in the README and docs composes, passes the
head/data check and builds its network, so a documented command cannot silently break."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from semcolor.cli.train import check_heads_fit_data, resolve_scene_classes
from tests.lit.helpers import compose_train

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def _shell_blocks(text: str) -> list[str]:
    """The contents of the ```bash / ```sh / plain ``` fenced blocks of a Markdown text."""
    blocks, current, lang = [], None, None
    for line in text.splitlines():
        if line.startswith("```"):
            if current is None:
                lang, current = line[3:].strip(), []
            else:
                if lang in ("", "bash", "sh"):
                    blocks.append("\n".join(current))
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def documented_train_commands() -> list[tuple[str, list[str]]]:
    """(where, overrides) of every semcolor-train invocation in the docs' code blocks."""
    found = []
    for doc in DOCS:
        for block in _shell_blocks(doc.read_text(encoding="utf-8")):
            joined = re.sub(r"\\\n\s*", " ", block)
            for line in joined.splitlines():
                line = line.split(" #")[0].strip()
                if "semcolor-train" not in line and "semcolor.cli.train" not in line:
                    continue
                line = re.sub(r"\$\{?(\w+)\}?", r"VAR_\1", line)
                words = shlex.split(line)
                ends = ("semcolor-train", "semcolor.cli.train")
                start = next((i for i, w in enumerate(words) if w.endswith(ends)), None)
                if start is None:  # mentioned, not run (e.g. inside a python -c string)
                    continue
                args = [w for w in words[start + 1 :] if "=" in w and not w.startswith("-")]
                found.append((f"{doc.name}: {line[:80]}", args))
    return found


COMMANDS = documented_train_commands()


def test_the_docs_do_document_training_commands():
    assert len(COMMANDS) >= 6  # README training, thesis recipe, SLURM, torchrun, default model


@pytest.mark.parametrize("where,args", COMMANDS, ids=[w for w, _ in COMMANDS])
def test_documented_command_composes_and_builds_its_network(tmp_path, where, args):
    from hydra.utils import instantiate

    from semcolor.data.scene_labels import save_scene_labels

    overrides = []
    for a in args:
        key = a.split("=")[0].lstrip("+")
        if key.startswith("hydra.") or key == "ckpt_path":
            continue  # Hydra's own run settings; a resume needs a real checkpoint
        if key == "data.scene_labels":
            labels = tmp_path / "labels.npz"
            save_scene_labels(labels, ["a.jpg"], np.array([[3]]), np.ones((1, 1), np.float32), 365)
            a = f"data.scene_labels={labels}"
        overrides.append(a)
    cfg = compose_train([*overrides, f"paths.output_dir={tmp_path}"])
    resolve_scene_classes(cfg)
    check_heads_fit_data(cfg)
    net = instantiate(cfg.model, _convert_="all")
    assert set(net.heads) == set(cfg.model.heads)
