import platform

import pytest

from realtime.pipeline.memory import HeapTrimmer


def test_free_heap_memory_is_handed_back_every_n_frames(monkeypatch):
    calls = []
    monkeypatch.setattr(HeapTrimmer, "_trim", staticmethod(lambda pad: calls.append(pad)))
    trimmer = HeapTrimmer(every=3)
    for _ in range(7):
        trimmer.tick()
    assert calls == [0, 0]


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="elsewhere the trimmer is a no-op by design")
def test_glibc_trim_is_found():
    assert HeapTrimmer._trim is not None
