import re

from realtime.cli import main


def _cells(row: list[str]) -> list[float]:
    return [float(v) for v in re.findall(r"([\d.]+)%", " ".join(row))]


def test_evaluate_defences_prints_both_tables_by_both_rules_per_world(capsys):
    assert main(["evaluate-defences", "--seeds", "6001", "--frames", "20", "--every", "10", "--fractions", "1.2,0.6",
                 "--attack-frames", "3", "--budgets", "16/255", "--device", "cpu"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    blocks, attacks = lines.index("blocks: worlds 6001, every 10th of 20 frames (2 each)"), \
        lines.index("on-the-fly attacks: the first 3 frames of each world, every one")
    assert lines[blocks + 1].split()[:3] == ["fraction", "world", "frames"] and "grey square" in lines[blocks + 1]
    block_rows = [line.split() for line in lines[blocks + 2:attacks]]
    assert [row[:3] for row in block_rows] == [["1.2", "6001", "2"], ["0.6", "6001", "2"]]
    for row in block_rows:
        cells = _cells(row[3:])
        honest, box_only = cells[0:10:2], cells[1:10:2]
        assert len(cells) == 11 and all(h >= b for h, b in zip(honest, box_only))   # the footprint only adds
    assert "PGD" in lines[attacks + 1] and "sign noise" in lines[attacks + 1]
    attack_row = lines[attacks + 2].split()
    assert attack_row[:3] == ["16/255", "6001", "3"] and len(_cells(attack_row[3:])) == 8
    assert float(attack_row[-1]) > 0                                                   # PGD frames per second
