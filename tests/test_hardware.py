"""semcolor.hardware: the bf16 / memory-format rule, with the CPU flags faked."""

from __future__ import annotations

import pytest

from semcolor import hardware


@pytest.fixture
def flags(monkeypatch):
    def set_flags(*names):
        monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset(names))

    return set_flags


@pytest.mark.parametrize(
    ("cpu", "train", "infer"),
    [
        (("avx2", "avx512f", "avx512_bf16"), "bf16-mixed", "bf16"),
        (("avx2", "amx_tile", "amx_bf16"), "bf16-mixed", "bf16"),
        (("avx2", "fma"), "32-true", "fp32"),  # the AVX2 EPYC: bf16 emulated, 12x slower
        ((), "32-true", "fp32"),  # flags unreadable
    ],
)
def test_auto_picks_bf16_only_where_native(flags, cpu, train, infer):
    flags(*cpu)
    t = hardware.training_precision("auto", "cpu")
    i = hardware.inference_precision("auto", "cpu")
    assert (t.value, i.value) == (train, infer)
    assert t.reason == i.reason and t.reason  # the log says why
    if train == "bf16-mixed":
        assert any(f in t.reason for f in hardware.CPU_BF16_FLAGS)


def test_explicit_values_win(flags):
    flags("avx512_bf16")
    assert hardware.training_precision("32-true", "cpu").value == "32-true"
    assert hardware.training_precision("16-mixed", "cpu").reason == "set explicitly"
    assert hardware.inference_precision("fp32", "cpu").value == "fp32"
    flags("avx2")
    assert hardware.inference_precision("bf16", "cpu").value == "bf16"
    with pytest.raises(ValueError, match=r"unknown precision 'fp16'; valid: \['auto', 'fp32'"):
        hardware.inference_precision("fp16", "cpu")


def test_memory_format_rule():
    assert hardware.memory_format("auto", "cpu", bf16=False).value == "channels_last"
    assert hardware.memory_format("auto", "cuda", bf16=True).value == "channels_last"
    assert hardware.memory_format("auto", "cuda", bf16=False).value == "contiguous"
    assert hardware.memory_format("contiguous", "cpu", bf16=True).value == "contiguous"
    with pytest.raises(ValueError, match="valid: \\['auto', 'channels_last', 'contiguous'\\]"):
        hardware.memory_format("nhwc", "cpu", bf16=False)


def test_cpu_flags_read_from_proc():
    flags = hardware.cpu_flags()
    try:
        text = open("/proc/cpuinfo").read()
    except OSError:
        assert flags == frozenset()
        return
    assert ("avx512_bf16" in flags) == (" avx512_bf16" in text)
    assert "flags:" in hardware.describe_cpu()
