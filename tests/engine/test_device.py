import pytest
import torch

from engine import device


@pytest.mark.parametrize("flags, bf16, fp16", [
    ("fpu sse avx2 avx512f", False, False),
    ("avx512f avx512_bf16", True, False),
    ("amx_bf16 amx_tile amx_fp16 avx512_fp16", True, True),
])
def test_cpu_computes_in_reads_the_cpu_flags(monkeypatch, flags, bf16, fp16):
    monkeypatch.setattr(device, "cpuinfo", lambda field: flags if field == "flags" else None)
    assert device.cpu_computes_in(torch.bfloat16) == bf16
    assert device.cpu_computes_in(torch.float16) == fp16
    assert not device.cpu_computes_in(torch.float32)


def test_without_cpu_information_nothing_is_native(monkeypatch):
    monkeypatch.setattr(device, "cpuinfo", lambda field: None)
    assert not device.cpu_computes_in(torch.bfloat16)
