"""Generate a synthetic course: figure scripts with icons and clusters, and chapters using them."""

from __future__ import annotations

import random
from pathlib import Path

ICONS = [
    ("diagrams.onprem.mlops", "Mlflow"),
    ("diagrams.onprem.workflow", "Airflow"),
    ("diagrams.onprem.workflow", "Kubeflow"),
    ("diagrams.onprem.container", "Docker"),
    ("diagrams.onprem.monitoring", "Prometheus"),
    ("diagrams.onprem.monitoring", "Grafana"),
    ("diagrams.onprem.database", "Postgresql"),
    ("diagrams.onprem.analytics", "Spark"),
    ("diagrams.onprem.queue", "Kafka"),
    ("diagrams.onprem.inmemory", "Redis"),
    ("diagrams.k8s.compute", "Pod"),
    ("diagrams.programming.language", "Python"),
]


HELPER = "_shared"  # the helper module figures import with `shared_helper`


def figure_script(index: int, rng: random.Random, shared_helper: bool = False) -> str:
    """Return a plain diagrams script with 10 to 40 icon nodes in clusters.

    With `shared_helper`, every label starts with the helper module's PREFIX.
    """
    count = rng.randint(10, 40)
    used = rng.sample(ICONS, k=rng.randint(3, len(ICONS)))
    lines = [f'"""Synthetic figure {index}: {count} components in clusters."""', ""]
    lines += [f"from {module} import {name}" for module, name in sorted(set(used))]
    lines += ["from diagrams import Cluster, Diagram"]
    if shared_helper:
        lines.append(f"from {HELPER} import PREFIX")
    lines.append("")
    lines.append(f'with Diagram("Synthetic figure {index}", show=False, direction="LR"):')
    lines.append("    nodes = []")
    clusters = rng.randint(1, 4)
    per_cluster = count // clusters
    made = 0
    for c in range(clusters):
        size = per_cluster if c < clusters - 1 else count - made
        lines.append(f'    with Cluster("Group {c}"):')
        for _ in range(size):
            _, cls = rng.choice(used)
            label = f'"{cls.lower()} {made}"'
            if shared_helper:
                label = f'PREFIX + " " + {label}'
            lines.append(f"        nodes.append({cls}({label}))")
            made += 1
    for target in range(1, count):
        source = rng.randrange(0, target)
        lines.append(f"    nodes[{source}] >> nodes[{target}]")
    return "\n".join(lines) + "\n"


def write_course(root: Path, figures: int = 100, chapters: int = 20, seed: int = 7,
                 svg_only: bool = True, shared_helper: bool = False) -> list[Path]:
    """Write the course into `root` and return its figure scripts.

    With `shared_helper`, every figure imports diagrams/_shared.py (see `figure_script`).
    """
    rng = random.Random(seed)
    (root / "diagrams").mkdir(parents=True)
    (root / "chapters").mkdir()
    settings = 'formats = ["svg"]\n' if svg_only else ""  # else the defaults: SVG, PNG, dark
    (root / "pyproject.toml").write_text(f"[tool.course-assets]\n{settings}")
    if shared_helper:
        (root / "diagrams" / f"{HELPER}.py").write_text('PREFIX = "svc"\n')
    scripts = []
    for index in range(figures):
        script = root / "diagrams" / f"figure_{index:03d}.py"
        script.write_text(figure_script(index, rng, shared_helper))
        scripts.append(script)
    per_chapter = figures // chapters
    for c in range(chapters):
        body = [f"# Chapter {c}", ""]
        for index in range(c * per_chapter, (c + 1) * per_chapter):
            body += [f"## Section {index}", "", "Some text about it.", "",
                     f'{{{{ diagram("figure_{index:03d}") }}}}', ""]
        (root / "chapters" / f"chapter-{c:02d}.md").write_text("\n".join(body))
    return scripts


def write_big_figure_course(root: Path, nodes: int = 1000) -> None:
    """Write a course with one figure of `nodes` icon nodes in 20 clusters."""
    (root / "diagrams").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.course-assets]\nformats = ["svg"]\n')
    per_cluster = nodes // 20
    (root / "diagrams" / "big.py").write_text(
        f'"""A figure of {nodes} nodes in 20 clusters."""\n'
        "from diagrams import Cluster, Diagram\n"
        "from diagrams.onprem.mlops import Mlflow\n\n"
        'with Diagram("Big", show=False, direction="TB"):\n'
        "    previous = None\n"
        "    for group in range(20):\n"
        '        with Cluster(f"group {group}"):\n'
        f'            nodes = [Mlflow(f"m{{group}}-{{i}}") for i in range({per_cluster})]\n'
        "        for a, b in zip(nodes, nodes[1:]):\n"
        "            a >> b\n"
        "        if previous:\n"
        "            previous >> nodes[0]\n"
        "        previous = nodes[-1]\n"
    )
