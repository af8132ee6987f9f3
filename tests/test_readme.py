"""The README's Python example runs as printed."""

import re
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"


def test_the_python_example_runs_and_prints_what_its_comments_say(capsys):
    code = re.search(r"## Python.*?```python\n(.*?)```", README.read_text(), re.S).group(1)
    namespace = {}
    exec(compile(code, str(README), "exec"), namespace)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == str(namespace["found"].names) and printed[0] in code
    assert printed[1] == "3 chickens seen before, 0 after"
    assert namespace["heat"].shape == (96, 96)
