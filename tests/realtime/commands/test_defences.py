import re

from realtime.cli import main


def test_evaluate_defences_prints_every_defence_by_both_rules_per_world_and_fraction(capsys):
    assert main(["evaluate-defences", "--seeds", "6001", "--frames", "20", "--every", "10", "--fractions", "1.2,0.6",
                 "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("worlds 6001: every 10th of 20 frames (2 each)")
    assert lines[1].split()[:3] == ["fraction", "world", "frames"] and "grey square" in lines[1]
    rows = [line.split() for line in lines[2:] if line.strip()]
    assert [row[:3] for row in rows] == [["1.2", "6001", "2"], ["0.6", "6001", "2"]]
    for row in rows:
        cells = [float(v) for v in re.findall(r"([\d.]+)%", " ".join(row[3:]))]
        honest, box_only = cells[0:12:2], cells[1:12:2]
        assert len(cells) == 13 and all(h >= b for h, b in zip(honest, box_only))   # the footprint only adds
