"""The page `make bench` writes: a Markdown table and a matplotlib chart of every figure."""

from __future__ import annotations

from pathlib import Path

from tests.benchmarks._harness import format_figure, format_number, met


def text(result: dict) -> str:
    lines = [result.get("title", "")]
    for kind in ("figures", "ratios"):
        for name, fig in result.get(kind, {}).items():
            lines.append(f"  {name:<52} {format_figure(fig)}")
    if result.get("output"):
        lines.append(result["output"].rstrip())
    lines += [f"  note: {note}" for note in result.get("notes", [])]
    return "\n".join(lines)


def _target(fig: dict) -> str:
    target = fig.get("target")
    if not target:
        return ""
    return f"{target['op']} {format_number(target['value'])} {'✅' if met(fig) else '❌'}"


def markdown(report: dict) -> str:
    m = report["machine"]
    load = " → ".join(f"{x[0]:.1f}" for x in (m["loadavg_start"], m.get("loadavg_end")) if x)
    lines = [
        f"`make bench` ({report['mode']}), {report['generated']}, commit {m.get('commit', '?')}: "
        f"{m['cpus']} CPUs, load {load}, Python {m['python']}, PostgreSQL + the emulator. "
        "Medians of repeated runs (min – max); ratios are taken within each run.",
        "",
        "| figure | median | min – max | runs | target |",
        "|---|---:|---:|---:|---|",
    ]
    for result in report["benchmarks"].values():
        lines.append(f"| **{result.get('title', '')}** | | | | |")
        if "error" in result:
            last = (result["error"].strip().splitlines() or ["failed"])[-1]
            lines.append(f"| failed: {last.replace('|', '/')} | | | | |")
        for kind in ("figures", "ratios"):
            for name, fig in result.get(kind, {}).items():
                unit = fig.get("unit", "")
                lines.append(
                    f"| {name} | {format_number(fig['median'])} {unit} | "
                    f"{format_number(fig['min'])} – {format_number(fig['max'])} | "
                    f"{fig['runs']} | {_target(fig)} |"
                )
        if result.get("output") and "figures" not in result:
            lines.append("| (printed output, see results.json) | | | | |")
    return "\n".join(lines) + "\n"


def _panels(report: dict) -> list[tuple[str, list[tuple[str, dict]]]]:
    """All ratios in one panel, then one panel per benchmark and unit."""
    ratios = [
        (name, fig)
        for result in report["benchmarks"].values()
        for name, fig in result.get("ratios", {}).items()
    ]
    panels = [("ratios, measured within each run (× ; target marked |)", ratios)] if ratios else []
    for result in report["benchmarks"].values():
        by_unit: dict[str, list] = {}
        for name, fig in result.get("figures", {}).items():
            by_unit.setdefault(fig.get("unit", ""), []).append((name, fig))
        for unit, figs in by_unit.items():
            if not any(f["max"] for _, f in figs):
                continue  # all zero (error counts): nothing to see
            panels.append((f"{result.get('title', '')[:70]} [{unit}]", figs))
    return panels


def chart(report: dict, path: Path) -> Path | None:
    """Horizontal bars (median, min–max whiskers); None when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart (pip install -e '.[bench]')")
        return None
    panels = _panels(report)
    if not panels:
        return None
    heights = [max(1.2, 0.32 * len(figs) + 0.6) for _, figs in panels]
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(10, sum(heights)), gridspec_kw={"height_ratios": heights}
    )
    axes = [axes] if len(panels) == 1 else list(axes)
    for ax, (title, figs) in zip(axes, panels, strict=True):
        names = [name for name, _ in figs][::-1]
        values = [f["median"] for _, f in figs][::-1]
        low = [f["median"] - f["min"] for _, f in figs][::-1]
        high = [f["max"] - f["median"] for _, f in figs][::-1]
        colors = []
        for _, f in figs[::-1]:
            ok = met(f)
            colors.append("tab:gray" if ok is None else ("tab:green" if ok else "tab:red"))
        ax.barh(names, values, xerr=[low, high], color=colors, capsize=3)
        for i, (_, f) in enumerate(figs[::-1]):
            if f.get("target"):
                ax.plot([f["target"]["value"]] * 2, [i - 0.4, i + 0.4], color="black", lw=2)
        positive = [v for v in values if v > 0]
        if positive and max(positive) / min(positive) > 50:
            ax.set_xscale("log")
        if title.startswith("ratios"):
            ax.axvline(1.0, color="black", lw=0.6, ls=":")  # parity
        ax.set_title(title, fontsize=9, loc="left")
        ax.tick_params(labelsize=8)
    fig.suptitle(f"make bench ({report['mode']}) {report['generated']}", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / sum(heights)))  # room for the suptitle
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
