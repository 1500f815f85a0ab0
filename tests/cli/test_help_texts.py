"""Every option of every semcolor command has a help text that states its default (or says
that it is required / what its absence means)."""

from __future__ import annotations

import argparse

import pytest

from semcolor.cli import (
    ablate,
    app,
    bench,
    calibrate,
    colorize,
    export,
    label_saliency,
    label_scenes,
    pack,
    prior,
    shard,
)

PARSERS = {
    "semcolor-ablate": ablate._parser, "semcolor-bench": bench._parser,
    "semcolor-calibrate": calibrate._parser,
    "semcolor-colorize": colorize._parser, "semcolor-export": export._parser,
    "semcolor-label-scenes": label_scenes._parser, "semcolor-prior": prior._parser,
    "semcolor-label-saliency": label_saliency._parser, "semcolor-app": app._parser,
    "semcolor-shard": shard._parser, "semcolor-pack": pack._parser,
}  # fmt: skip


def _options(ap: argparse.ArgumentParser):
    for a in ap._actions:
        if isinstance(a, argparse._HelpAction) or a.help == argparse.SUPPRESS:
            continue
        if a.option_strings:
            yield a


@pytest.mark.parametrize("prog", sorted(PARSERS))
def test_every_option_has_help_with_its_default(prog):
    ap = PARSERS[prog]()
    formatter = ap._get_formatter()
    for a in _options(ap):
        assert a.help, f"{prog} {a.option_strings[0]} has no help"
        shown = formatter._expand_help(a) if a.help else ""
        if a.required:
            assert "required" in shown.lower(), f"{prog} {a.option_strings[0]}: say 'required'"
        elif isinstance(a, argparse._StoreTrueAction):
            continue  # a flag: off unless given
        elif a.default is None:
            assert "default" in shown.lower() or "required unless" in shown, (
                f"{prog} {a.option_strings[0]}: say what happens when it is not given"
            )
        else:
            assert str(a.default) in shown, f"{prog} {a.option_strings[0]}: show its default"


def test_temperature_says_when_it_is_ignored():
    for prog in ("semcolor-colorize", "semcolor-bench"):
        ap = PARSERS[prog]()
        (t,) = [a for a in _options(ap) if "--temperature" in a.option_strings]
        assert "ignored" in t.help and "reg" in t.help


def test_label_scenes_weights_are_required():
    ap = PARSERS["semcolor-label-scenes"]()
    (w,) = [a for a in _options(ap) if "--weights" in a.option_strings]
    assert w.required and "--weights WEIGHTS" in ap.format_usage().replace("[--weights", "?")
