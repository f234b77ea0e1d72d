"""Figures from result tables. No statistic is computed here: every number comes from a
Contract 4 results dictionary, so suppressed values (``null``) simply do not appear.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # reports are rendered headless; never pick an interactive backend

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .i18n import t  # noqa: E402
from .instruments import Instrument, pick_text  # noqa: E402
from .presentation import _first_last, fmt_number, role_label, wave_label  # noqa: E402

__all__ = ["forest_plot", "pre_post_plot", "school_comparison_plot", "school_pre_post_plot",
           "show", "to_png", "level_bars", "epstein_plot", "change_histogram"]

_ROLE_COLOURS = {"all": "#1b4f72", "parent": "#d35400", "teacher": "#117a65",
                 "youthworker": "#7d3c98", "coordinator": "#7f8c8d", "pupil": "#b7950b"}


def _style(ax: plt.Axes) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)


def _decimal_comma(ax: plt.Axes, lang: str, axis: str = "x") -> None:
    if lang != "nl":
        return
    from matplotlib.ticker import FuncFormatter

    fmt = FuncFormatter(lambda v, _pos: fmt_number(v, "nl", 1))
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


def forest_plot(results: dict, inst: Instrument, lang: str = "nl", key: str = "d_z") -> Figure:
    """Effect sizes with 95 % CIs per scale, overall and per role (suppressed groups omitted)."""
    rows = []
    for scale_id in [s for s in inst.scale_ids if s in results["scales"]]:
        block = results["scales"][scale_id]
        name = pick_text(inst.scale(scale_id).name, lang)
        by_role = block["by_role"]
        groups = [("all", block["paired"])] + [(r, by_role[r]["paired"]) for r in inst.roles
                                                if r in by_role]
        for role, p in groups:
            ci = p.get(f"{key}_ci95")
            if p.get(key) is None or not ci or ci[0] is None:
                continue
            who = t("report.role.all", lang) if role == "all" else role_label(role, lang)
            rows.append((t("report.fig.scale_role", lang, scale=name, role=who), p[key], ci[0], ci[1],
                         role))
    height = 0.9 + 0.32 * max(len(rows), 1)
    fig, ax = plt.subplots(figsize=(7.5, height), dpi=100)
    for i, (_label, est, lo, hi, role) in enumerate(rows):
        y = len(rows) - 1 - i
        colour = _ROLE_COLOURS.get(role, "#333333")
        ax.plot([lo, hi], [y, y], color=colour, linewidth=2)
        ax.plot([est], [y], "o", color=colour, markersize=6 if role == "all" else 4.5)
    ax.axvline(0, color="#555555", linewidth=0.8)
    ax.set_yticks(range(len(rows)), [r[0] for r in reversed(rows)], fontsize=8)
    ax.set_xlabel(t("report.fig.axis_effect", lang, key=key))
    _decimal_comma(ax, lang)
    _style(ax)
    fig.tight_layout()
    return fig


def _pre_post_panels(results: dict, inst: Instrument, lang: str, lines) -> Figure:
    """One panel per scale with before/after lines; ``lines(scale_id)`` yields
    ``(block, style, colour, label)`` with ``block`` holding ``mean_pre`` and ``mean_post``."""
    scales = [s for s in inst.scale_ids if s in results["scales"]]
    fig, axes = plt.subplots(1, len(scales), figsize=(3.0 * len(scales), 3.2), dpi=100,
                             sharey=True, squeeze=False)
    lo, hi = inst.response_scale.min, inst.response_scale.max
    for ax, scale_id in zip(axes[0], scales, strict=True):
        for block, style, colour, label in lines(scale_id):
            if block.get("mean_pre") is None:  # suppressed
                continue
            ax.plot([0, 1], [block["mean_pre"], block["mean_post"]], style, color=colour,
                    label=label)
        first, last = _first_last(results)
        ax.set_xticks([0, 1], [wave_label(first, lang), wave_label(last, lang)])
        ax.set_xlim(-0.3, 1.3)
        ax.set_ylim(lo, hi)
        ax.set_title(pick_text(inst.scale(scale_id).name, lang), fontsize=10)
        _decimal_comma(ax, lang, axis="y")
        ax.spines[["top", "right"]].set_visible(False)
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def pre_post_plot(results: dict, inst: Instrument, lang: str = "nl") -> Figure:
    """Mean scale score before and after, per role, for respondents with both waves."""

    def lines(scale_id: str):
        by_role = results["scales"][scale_id]["by_role"]
        for role in [r for r in inst.roles if r in by_role]:
            yield by_role[role]["paired"], "-o", _ROLE_COLOURS.get(role, "#333"), role_label(role, lang)

    return _pre_post_panels(results, inst, lang, lines)


def to_png(fig: Figure) -> bytes:
    """PNG bytes of a figure, without a timestamp, so the same figure gives the same bytes."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


def show(fig: Figure, alt: str = "") -> None:
    """Display a figure once in a notebook as an embedded PNG with alt text, and free it."""
    import base64
    import html

    from IPython.display import HTML, display

    data = base64.b64encode(to_png(fig)).decode("ascii")
    plt.close(fig)
    display(HTML(f'<img class="pe-figure" alt="{html.escape(alt, quote=True)}" '
                 f'src="data:image/png;base64,{data}"/>'))


def school_comparison_plot(results: dict, inst: Instrument, lang: str = "nl") -> Figure:
    """Parents' mean change per school with 95 % CI, one panel per scale (suppressed omitted).

    The vertical line is the change of all parents in the project.
    """
    scales = [s for s in inst.scale_ids if s in results["scales"]]
    schools = sorted(results.get("schools", {}).values(), key=lambda s: s["name"].casefold())
    shown = [s for s in schools if any(s["scales"][sc].get("mean_diff") is not None for sc in scales)]
    height = 1.2 + 0.22 * max(len(shown), 1)
    fig, axes = plt.subplots(1, len(scales), figsize=(3.2 * len(scales), height), dpi=100,
                             sharey=True, squeeze=False)
    for ax, scale_id in zip(axes[0], scales, strict=True):
        for i, school in enumerate(shown):
            b = school["scales"][scale_id]
            if b.get("mean_diff") is None:
                continue
            y = len(shown) - 1 - i
            ax.plot(b["ci95"], [y, y], color=_ROLE_COLOURS["parent"], linewidth=1.2)
            ax.plot([b["mean_diff"]], [y], "o", color=_ROLE_COLOURS["parent"], markersize=3.5)
        overall = results["scales"][scale_id]["by_role"].get("parent", {}).get("paired", {})
        if overall.get("mean_diff") is not None:
            ax.axvline(overall["mean_diff"], color=_ROLE_COLOURS["all"], linewidth=1, linestyle="--")
        ax.axvline(0, color="#555555", linewidth=0.8)
        ax.set_title(pick_text(inst.scale(scale_id).name, lang), fontsize=10)
        _decimal_comma(ax, lang)
        _style(ax)
    axes[0][0].set_yticks(range(len(shown)), [s["name"] for s in reversed(shown)], fontsize=7)
    first, last = _first_last(results)
    fig.supxlabel(t("report.fig.axis_change", lang, first=wave_label(first, lang),
                    last=wave_label(last, lang)), fontsize=9)
    fig.tight_layout()
    return fig


def school_pre_post_plot(results: dict, school_key: str, inst: Instrument,
                         lang: str = "nl") -> Figure:
    """This school's parents (solid) beside all parents (dashed): mean before and after."""
    school = results["schools"][school_key]

    def lines(scale_id: str):
        yield (school["scales"][scale_id], "-o", _ROLE_COLOURS["parent"],
               t("report.school.this_school", lang))
        yield (results["scales"][scale_id]["by_role"].get("parent", {}).get("paired", {}), "--s",
               _ROLE_COLOURS["all"], t("report.school.all_parents", lang))

    return _pre_post_panels(results, inst, lang, lines)


def level_bars(results: dict, classification: str, inst: Instrument, lang: str = "nl",
               title: str = "") -> Figure:
    """100 % stacked bars of a classification's levels per role, first wave above last.

    Suppressed cells are not drawn by size: what the shown shares leave of a bar (which the
    published shares give away anyway) is one hatched segment marked ``< min_cell``, placed where
    the first hidden level sits, so a bar always reaches 100 % and a reader sees where the
    hidden groups are.
    """
    import numpy as np

    records = results.get("frameworks", {}).get("tables", {}).get("level_distribution", [])
    rows = [r for r in records if r["classification"] == classification]
    levels = sorted({(r["level"], r["label"]) for r in rows})
    first, last = _first_last(results)
    min_cell = results.get("min_cell", 10)
    bars = [(role, wave) for role in inst.roles for wave in (first, last)
            if any(r["role"] == role and r["wave"] == wave for r in rows)]
    fig, ax = plt.subplots(figsize=(7.5, 0.9 + 0.38 * max(len(bars), 1)), dpi=100)
    cmap = plt.get_cmap("Blues")
    colours = [cmap(0.25 + 0.7 * i / max(len(levels) - 1, 1)) for i in range(len(levels))]
    hidden_any = False
    for y, (role, wave) in enumerate(reversed(bars)):
        cells = {r["level"]: r for r in rows if r["role"] == role and r["wave"] == wave}
        shown_total = sum(c["share"] for c in cells.values() if c.get("share") is not None)
        rest = 1.0 - shown_total
        hidden = any(c.get("share") is None and c.get("reason") for c in cells.values())
        left, drawn = 0.0, False
        for (level, _label), colour in zip(levels, colours, strict=True):
            cell = cells.get(level)
            if cell is None:
                continue
            share = cell.get("share")
            if share is None:
                # the hidden levels together, where the first of them sits in the level order
                if hidden and not drawn and rest > 1e-9:
                    drawn = hidden_any = True
                    ax.barh(y, rest, left=left, color="white", edgecolor="#999999", hatch="///",
                            linewidth=0.6, height=0.7)
                    if rest >= 0.05:
                        ax.text(left + rest / 2, y, t("report.fig.suppressed", lang, min_cell=min_cell),
                                ha="center", va="center", fontsize=7, color="#444444",
                                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})
                    left += rest
                continue
            ax.barh(y, share, left=left, color=colour, edgecolor="white", height=0.7)
            if share >= 0.08:
                ax.text(left + share / 2, y, fmt_number(100 * share, lang, 0) + "%", ha="center",
                        va="center", fontsize=7, color="white" if level >= np.median(
                            [lv for lv, _ in levels]) else "black")
            left += share
    ax.set_yticks(range(len(bars)), [t("report.fig.role_wave", lang, role=role_label(r, lang),
                                       wave=wave_label(w, lang)) for r, w in reversed(bars)],
                  fontsize=8)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _p: fmt_number(100 * v, lang, 0) + "%"))
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colours]
    labels = [lab for _, lab in levels]
    if hidden_any:
        handles.append(plt.Rectangle((0, 0), 1, 1, facecolor="white", edgecolor="#999999",
                                     hatch="///"))
        labels.append(t("report.fig.suppressed_legend", lang, min_cell=min_cell))
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.12),
              ncol=2 if hidden_any else min(len(labels), 3), fontsize=7, frameon=False)
    if title:
        ax.set_title(title, fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def epstein_plot(results: dict, inst: Instrument, lang: str = "nl") -> Figure:
    """Mean frequency per Epstein type before (open) and after (filled), one panel per role."""
    records = results.get("frameworks", {}).get("tables", {}).get("epstein_change", [])
    roles = [r for r in inst.roles if any(x["role"] == r for x in records)]
    fig, axes = plt.subplots(1, max(len(roles), 1), figsize=(3.3 * max(len(roles), 1), 3.2),
                             dpi=100, sharey=True, squeeze=False)
    for ax, role in zip(axes[0], roles, strict=True):
        mine = sorted((x for x in records if x["role"] == role), key=lambda x: -x["type_order"])
        for y, x in enumerate(mine):
            if x.get("mean_pre") is None:
                continue
            colour = _ROLE_COLOURS.get(role, "#333")
            ax.plot([x["mean_pre"], x["mean_post"]], [y, y], color=colour, linewidth=1.2)
            ax.plot([x["mean_pre"]], [y], "o", mfc="white", color=colour, markersize=5)
            ax.plot([x["mean_post"]], [y], "o", color=colour, markersize=5)
        ax.set_yticks(range(len(mine)), [x["type_label"] for x in mine], fontsize=8)
        ax.set_xlim(1, 5)
        ax.set_title(role_label(role, lang), fontsize=10)
        _decimal_comma(ax, lang)
        _style(ax)
    fig.tight_layout()
    return fig


def change_histogram(results: dict, inst: Instrument, lang: str = "nl") -> Figure:
    """How much each person's score changed (post − pre), one panel per scale.

    Bars are the numbers of pairs per half-point bin (``change_distribution`` in results.json);
    a bin hidden by the minimum cell size is drawn as an empty, hatched outline without a
    height, so a reader sees that something is there but not how much.
    """
    scales = [s for s in inst.scale_ids if "change_distribution" in results["scales"].get(s, {})]
    fig, axes = plt.subplots(1, max(len(scales), 1), figsize=(3.2 * max(len(scales), 1), 3.0),
                             dpi=100, sharey=True, squeeze=False)
    min_cell = results.get("min_cell", 10)
    for ax, scale_id in zip(axes[0], scales, strict=True):
        dist = results["scales"][scale_id]["change_distribution"]
        bins = dist["bins"]
        xs = [b["centre"] for b in bins]
        shown = [b["n"] if b["n"] is not None else 0 for b in bins]
        ax.bar(xs, shown, width=0.45, color=_ROLE_COLOURS["all"])
        top = max(shown) if any(shown) else min_cell
        for b in bins:
            if b["n"] is None and b.get("n_reason"):
                ax.bar([b["centre"]], [min_cell], width=0.45, fill=False, hatch="///",
                       edgecolor="#999999", linewidth=0.6)
                ax.text(b["centre"], min_cell + 0.02 * top, t("report.fig.suppressed", lang, min_cell=min_cell), ha="center",
                        va="bottom", fontsize=6, color="#666666")
        ax.axvline(0, color="#555555", linewidth=0.8, linestyle="--")
        edges = dist["edges"]
        labels = [fmt_number(x, lang, 1) for x in xs]
        labels[0] = "< " + fmt_number(edges[0], lang, 2)
        labels[-1] = "≥ " + fmt_number(edges[-1], lang, 2)
        ax.set_xticks(xs, labels, fontsize=6, rotation=60)
        ax.set_title(pick_text(inst.scale(scale_id).name, lang), fontsize=10)
        ax.spines[["top", "right"]].set_visible(False)
    axes[0][0].set_ylabel(t("report.fig.axis_people", lang), fontsize=8)
    first, last = _first_last(results)
    fig.supxlabel(t("report.fig.axis_change", lang, first=wave_label(first, lang),
                    last=wave_label(last, lang)), fontsize=8)
    fig.tight_layout()
    return fig
