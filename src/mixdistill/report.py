"""report.md and its plots, from the metrics and manifests of a run."""

from __future__ import annotations

from pathlib import Path
from statistics import median

from .config import Config
from .study import LABEL, MIX_RECIPES, ORDER, RECIPES, STATISTICS, pure
from .gap import RESAMPLES
from .io import atomic_path



def _fmt(x, signed=False) -> str:
    if x is None:
        return "–"
    return f"{x:+.1f}" if signed else f"{x:.1f}"


def render_markdown(cfg: Config, evals: dict, gap: dict, teachers: dict, mixes: dict, train: dict,
                    students: dict, versions: dict, plots: list[str], analysis: dict | None = None,
                    audit: dict | None = None) -> str:
    L = ["# Mix Distillation study", ""] + _run_section(cfg, teachers, students, versions)
    L += _teachers_section(teachers) + _mixes_section(cfg, mixes)
    for student in sorted(evals):
        L += _student_section(cfg, student, evals[student], train.get(student, {}), gap.get(student, {}))
        L += _audit_section(student, (audit or {}).get(student))
        L += _analysis_section(student, (analysis or {}).get(student))
    L += _notes(cfg)
    for p in plots:
        L += [f"![{Path(p).stem}]({p})", ""]
    return "\n".join(L)


def _run_section(cfg: Config, teachers: dict, students: dict, versions: dict) -> list[str]:
    synthetic = [r for r, t in sorted(teachers.items()) if t.get("provenance", {}).get("backend") == "synthetic"]
    L = []
    if synthetic:
        L += [f"> **Synthetic teachers** ({', '.join(synthetic)}): these responses were written by mixdistill's "
              "rule-based synthetic teacher, not by an LLM. They reproduce the *shape* of the paper's data "
              "(long reflective vs short CoT; dense vs elementary), so the numbers below test the pipeline "
              "and the direction of effects on a tiny student, not the paper's claims.", ""]
    n_train = sum(s.count for s in cfg.problems.train)
    n_bench = {b: cfg.problems.benchmarks[b].count for b in sorted(cfg.problems.benchmarks)}
    return L + ["## Run", "",
          "- Students: " + ", ".join(f"`{s}` ({i['source']}, {i['architecture']}, {i['parameters'] / 1e6:.1f}M parameters"
                                     + (f", hub commit {i['commit'][:12]}" if i.get("commit") else "") + ")"
                                     for s, i in sorted(students.items())),
          f"- Training prompts: {n_train} ({', '.join(f'{s.task or s.path} x{s.count}' for s in cfg.problems.train)})",
          f"- Benchmarks: {', '.join(f'{b} ({n})' for b, n in n_bench.items())}; {sum(n_bench.values())} problems, "
          f"greedy, max {cfg.evaluate.max_new_tokens} new tokens, graded by math-verify",
          f"- Training ({cfg.train.method}; TRL SFTConfig): " + ", ".join(f"{k} {v}" for k, v in cfg.train.sft.items())
          + "".join(f"; `{k}`: " + ", ".join(f"{kk} {vv}" for kk, vv in v.model_dump(exclude_defaults=True).items())
                    for k, v in sorted(cfg.train.overrides.items())),
          f"- Mix weights: Mix-Long {cfg.mix.weight}, Mix-Large {cfg.mix.large_weight} (counting {cfg.mix.unit}); "
          f"seed {cfg.seed}; training seeds {', '.join(map(str, cfg.train.seeds))} (each recipe trained and evaluated "
          f"once per seed; tables show the mean over seeds)",
          f"- Packages: {', '.join(f'{k} {v}' for k, v in sorted(versions.items()))}", ""]


def _teachers_section(teachers: dict) -> list[str]:
    L = ["## Teachers", "", "| role | backend | model | accuracy | kept problems | mean words |", "|---|---|---|---|---|---|"]
    for role, t in sorted(teachers.items()):
        prov = t.get("provenance", {})
        model = prov.get("model") if not prov.get("commit") else f"{prov['model']}@{prov['commit'][:12]}"  # the commit loaded
        L.append(f"| {role} | {prov.get('backend')} | {model} | {_fmt(t['accuracy'])}% "
                 f"({t['correct']}/{t['requests']}) | {t['kept_problems']} | {t['mean_response_words']} |")
    return L


def _mixes_section(cfg: Config, mixes: dict) -> list[str]:
    L = ["", "## Training sets", "", f"Mix weights count {cfg.mix.unit}; tokens are the teachers' own response token counts.", "",
         "| recipe | examples | from hard | from easy | response tokens | hard share of tokens | dropped (not kept by both) |",
         "|---|---|---|---|---|---|---|"]
    for r in (r for r in RECIPES if r in mixes):
        m = mixes[r]
        dropped = m.get("dropped_not_common", f"released set `{m.get('released')}`: {m.get('from_neither')} rows "
                                              f"from neither teacher, {m.get('unmatched_rows')} unmatched")
        share = m.get("token_weight")
        L.append(f"| {LABEL[r]} | {m['examples']} | {m['from_hard']} ({m['hard_teacher']}) | "
                 f"{m['from_easy']} ({m['easy_teacher']}) | {m.get('tokens') if m.get('tokens') is not None else '–'} | "
                 f"{'–' if share is None else f'{100 * share:.1f}%'} | {dropped} |")
    return L


def _student_section(cfg: Config, student: str, ev: dict, train: dict, g: dict) -> list[str]:
    """A student's accuracy table (and pass@k when sampled), then its gap statistics with their intervals."""
    benches = sorted(cfg.problems.benchmarks)
    seeded = any("seeds" in m for m in ev.values())
    L = ["", f"## Student `{student}`", "", "| recipe | " + " | ".join(benches) + " | Average |"
         + (" sd over seeds |" if seeded else "") + " resp. tokens | train loss |",
         "|---|" + "---|" * (len(benches) + 3 + seeded)]
    for r in (r for r in ORDER if r in ev):
        acc, tr = ev[r]["accuracy"], train.get(r, {})
        sd = (f" {_fmt(ev[r]['average_seed_sd'])} ({ev[r]['seeds']} seeds) |" if "seeds" in ev[r] else " – |") if seeded else ""
        L.append(f"| {LABEL[r]} | " + " | ".join(_fmt(acc.get(b)) for b in benches)
                 + f" | **{_fmt(acc['average'])}** |{sd} {ev[r].get('response_tokens_mean')} | {tr.get('train_loss', '–')} |")
    sampled = [r for r in ORDER if r in ev and "pass_at" in ev[r]]
    if sampled:
        ks = list(ev[sampled[0]]["pass_at"])
        L += ["", f"Sampled evaluation: {ev[sampled[0]]['samples']} samples per problem at temperature "
                  f"{cfg.evaluate.temperature}; the table above is mean accuracy over samples. Average pass@k:", "",
              "| recipe | " + " | ".join(f"pass@{k}" for k in ks) + " |", "|---|" + "---|" * len(ks)]
        L += [f"| {LABEL[r]} | " + " | ".join(_fmt(ev[r]["pass_at"][k]["average"]) for k in ks) + " |" for r in sampled]
    L += ["", "| statistic | value | 95% noise band | beyond noise? | paired 95% CI | McNemar p | detectable at 80% power |",
          "|---|---|---|---|---|---|---|"]
    for st in (st for st in STATISTICS if st.name in g):
        key = st.name
        ci = (f"[{_fmt(g[key + '_ci95_low'], True)}, {_fmt(g[key + '_ci95_high'], True)}]"
              if key + "_ci95_low" in g else "–")
        p = f"{g[key + '_p_mcnemar']:.3g}" if key + "_p_mcnemar" in g else "–"
        mde = f"±{_fmt(g[key + '_mde80'])}" if key + "_mde80" in g else "–"
        L.append(f"| {_formula(st)} | {_fmt(g[key], True)} | ±{_fmt(g[key + '_noise95'])} | "
                 f"{'yes' if g[key + '_beyond_noise'] else 'no: within sampling noise'} | {ci} | {p} | {mde} |")
    return L


def _formula(st) -> str:
    """Δ_Long = P_Long − P_Short; Mix-Long − best of (Long, Short)."""
    if st.b:
        return f"{st.label} = P_{st.a.capitalize()} − P_{st.b.capitalize()}"
    r = RECIPES[st.a]
    return f"{r.label} − best of ({r.hard.capitalize()}, {r.easy.capitalize()})"


def _notes(cfg: Config) -> list[str]:
    return ["", "Accuracies are percentages; the average is the plain mean over benchmarks (as in the paper). "
            "The noise band is 1.96 binomial standard errors of the difference of two independent runs; with a few "
            "dozen problems per benchmark, differences of several points are expected by chance alone. Both recipes "
            "answer the same problems, so the paired columns are the sharper test: the 95% interval of a bootstrap "
            f"over problems ({RESAMPLES:,} resamples, stratified by benchmark, seed {cfg.seed}) and the exact McNemar "
            "p-value on the problems one recipe solved and the other did not. A difference is a finding only when "
            "its interval excludes 0. The last column is the power of this run's size: the smallest true difference "
            "that these problems would detect with 80% power (two-sided 5% test), from the observed per-problem "
            "differences; a smaller effect can hide in a run this size. "
            + ("One training seed per recipe, so seed-to-seed variation is not in these intervals (add seeds with "
               "`train.seeds`)." if len(cfg.train.seeds) == 1 else
               f"{len(cfg.train.seeds)} training seeds per recipe: each bootstrap resample also redraws every recipe's "
               "seeds, and the power column adds the variance over seeds, so both hold the seed-to-seed spread."), ""]


GRADER_LABEL = {"math_verify": "math-verify", "math_verify_own": "math-verify's own extraction", "strict_boxed": "strict \\boxed{} match", "checker": "benchmark checker"}
STAT_LABEL = {st.name: st.label for st in STATISTICS}


def _audit_section(student: str, a: dict | None) -> list[str]:
    if not a:
        return []
    gs = a["graders"]
    L = ["", f"### Grader audit (`{student}`)", "",
         f"All {a['predictions']} predictions graded by " + ", ".join(GRADER_LABEL[g] for g in gs)
         + " (the pipeline grades with math-verify). Average accuracy under each grader, and how many predictions "
         "each other grader judges differently (math-verify right / the other grader right):", "",
         "| recipe | " + " | ".join(GRADER_LABEL[g] for g in gs) + " | " + " | ".join(f"differs: {GRADER_LABEL[g]}" for g in gs[1:]) + " |",
         "|---|" + "---|" * (2 * len(gs) - 1)]
    for r in ORDER:
        if r in a["recipes"]:
            row = a["recipes"][r]
            L.append(f"| {LABEL[r]} | " + " | ".join(_fmt(row["accuracy"][g]) for g in gs) + " | "
                     + " | ".join(f"{row['disagree'][g]['math_verify_only']} / {row['disagree'][g][g + '_only']}" for g in gs[1:]) + " |")
    L += ["", "| statistic | " + " | ".join(GRADER_LABEL[g] for g in gs) + " | same sign under every grader? |",
          "|---|" + "---|" * (len(gs) + 1)]
    for s, by in a["statistics"].items():
        L.append(f"| {STAT_LABEL[s]} | " + " | ".join(_fmt(by[g], True) for g in gs)
                 + f" | {'yes' if a['same_sign_under_every_grader'][s] else '**no**: the conclusion depends on the grader'} |")
    examples = []  # the first disagreement of each grader in up to two recipes
    for g in gs[1:]:
        found = [(r, a["recipes"][r]["disagree"][g]["examples"][0]) for r in ORDER
                 if r in a["recipes"] and a["recipes"][r]["disagree"][g]["examples"]]
        examples += [f"{GRADER_LABEL[g]} vs math-verify, {LABEL[r]} `{e['problem_id']}`: gold `{e['gold']}`, extracted "
                     f"`{e['extracted']}`, " + (f"boxed `{e['boxed']}`" if e["boxed"] is not None else "no \\boxed{}")
                     + f"; {'math-verify' if e['math_verify'] else GRADER_LABEL[g]} says correct" for r, e in found[:2]]
    if examples:
        L += ["", "Examples of disagreement (all are in `metrics/audit.json`):", ""] + [f"- {x}" for x in examples]
    failed = a["controls_failed"]
    L += ["", f"Controls on {len(a['controls'])} benchmarks: each gold answer fed as a prediction (`\\boxed{{gold}}`) and "
          "three junk responses per problem (\"I don't know.\", an empty response, the question repeated back). "
          + ("**Failed:**" if failed else "Every grader scores the gold answers 100% and the junk 0% on every benchmark.")]
    L += [f"- **control failed**: {x}" for x in failed]
    return L


def _analysis_section(student: str, a: dict | None) -> list[str]:
    if not a:
        return []
    L = ["", f"### Length, finishing and reflection (`{student}`)", "",
         "| recipe | mean tokens | max | unfinished | of which looped | no final answer | 'wait' /100 | 'alternatively' /100 | 'let me check' /100 |",
         "|---|---|---|---|---|---|---|---|---|"]
    for r in ORDER:
        if r in a:
            s = a[r]["length"]
            m = s["markers_per_100"]
            L.append(f"| {LABEL[r]} | {s['response_tokens_mean']} | {s['response_tokens_max']} | {_fmt(s['unfinished_pct'])}% | "
                     f"{_fmt(s.get('looped_pct'))}% | "
                     f"{_fmt(s['no_answer_pct'])}% | {m['wait']} | {m['alternatively']} | {m['let me check']} |")
    L += ["", f"### Speaking-style shift (`{student}`)", "",
          "Tokens the trained student generated that the base student ranked lowest (mean 0-based rank under the "
          "base student; the trained student chose each greedily, at rank 0). Tokens seen fewer than 3 times are left out.", "",
          "| recipe | most-shifted tokens (mean rank, count) |", "|---|---|"]
    for r in ORDER:
        if r in a and a[r].get("style_shift"):
            toks = ", ".join(f"`{t['token']}` ({t['mean_rank_shift']:.0f}, {t['count']})" for t in a[r]["style_shift"][:10])
            L.append(f"| {LABEL[r]} | {toks} |")
    return L


GAP_ROWS = tuple((st.name, st.caption) for st in STATISTICS)
AUDIT_GRADERS = ("strict_boxed", "checker", "math_verify_own")


def _ci(g: dict, key: str) -> dict:
    return {"ci95_low": g.get(f"{key}_ci95_low"), "ci95_high": g.get(f"{key}_ci95_high")}


def plot_tables(cfg: Config, evals: dict, lengths: dict, gap: dict) -> dict[str, list[dict]]:
    """The data behind dvc.yaml's plot definitions, one row per mark, so that `dvc plots diff` overlays revisions and
    experiments (one mark per row and revision). Every interval is the gap stage's own (metrics/gap_stats.json), not a
    second computation:
    `gap` (the forest: each difference with its paired 95% CI, and its value under the audit's other graders),
    `recipe_average` (each recipe's average with its 95% CI, in the study's order), `recipes` (accuracy per recipe
    and benchmark), `lengths` (response tokens per recipe), `sweep_long` / `sweep_large` (each mix's weight and
    average with its CI, and its two sources' averages: a weight sweep is the overlay of its experiments)."""
    many = len(evals) > 1
    benches = sorted(cfg.problems.benchmarks)

    def name(s: str, r: str) -> str:
        return f"{s}: {LABEL[r]}" if many else LABEL[r]

    out: dict[str, list[dict]] = {k: [] for k in ("gap", "recipe_average", "recipes", "lengths", "sweep_long", "sweep_large")}
    for si, s in enumerate(sorted(evals)):
        g = gap.get(s, {})
        runs = [r for r in ORDER if r in evals[s]]
        for i, (key, label) in enumerate(GAP_ROWS):
            if key in g:
                out["gap"].append({"student": s, "statistic": f"{s}: {label}" if many else label,
                                   "order": si * 10 + i, "value": g[key], **_ci(g, key),
                                   **{gr: g.get(f"{key}_{gr}") for gr in AUDIT_GRADERS}})
        for r in runs:
            out["recipe_average"].append({"student": s, "recipe": name(s, r), "order": si * 10 + ORDER.index(r),
                                          "accuracy": evals[s][r]["accuracy"]["average"], **_ci(g, f"p_{r}")})
            out["recipes"] += [{"student": s, "recipe": name(s, r), "order": si * 10 + ORDER.index(r), "benchmark": b,
                                "accuracy": evals[s][r]["accuracy"][b]} for b in benches if b in evals[s][r]["accuracy"]]
            ns = lengths[s][r]
            out["lengths"].append({"student": s, "recipe": name(s, r), "responses": len(ns),
                                   "mean_tokens": round(sum(ns) / len(ns), 1) if ns else 0.0,
                                   "median_tokens": float(median(ns)) if ns else 0.0})
        for mix in (RECIPES[m] for m in MIX_RECIPES):
            if mix.name in evals[s]:
                out.setdefault(f"sweep_{mix.name.removeprefix('mix_')}", []).append({
                    "student": s, "weight": cfg.recipe_weight(mix.name), "accuracy": evals[s][mix.name]["accuracy"]["average"],
                    **_ci(g, f"p_{mix.name}"), "hard": g.get(f"p_{pure(mix.hard, mix.easy, 'hard')}"),
                    "easy": g.get(f"p_{pure(mix.hard, mix.easy, 'easy')}")})
    return out


def plot_recipes(evals: dict, gap: dict, out: str) -> None:
    """Each recipe's average accuracy with its 95% interval, in the study's order, one row of points per student."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    students = sorted(evals)
    width = 0.8 / max(len(students), 1)
    for i, s in enumerate(students):
        rs = [r for r in ORDER if r in evals[s]]
        xs = [ORDER.index(r) + i * width for r in rs]
        ys = [evals[s][r]["accuracy"]["average"] for r in rs]
        ci = [(gap.get(s, {}).get(f"p_{r}_ci95_low"), gap.get(s, {}).get(f"p_{r}_ci95_high")) for r in rs]
        err = [[y - lo if lo is not None else 0 for y, (lo, _) in zip(ys, ci)],
               [hi - y if hi is not None else 0 for y, (_, hi) in zip(ys, ci)]]
        ax.bar(xs, ys, width, label=s, alpha=0.75)
        ax.errorbar(xs, ys, yerr=err, fmt="none", ecolor="black", capsize=3, lw=1)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(ORDER))], [LABEL[r] for r in ORDER], rotation=20)
    ax.set_ylabel("average accuracy (%), 95% CI")
    ax.set_title("Average benchmark accuracy by training recipe")
    ax.legend()
    fig.tight_layout()
    _save(fig, out)


def plot_forest(gap: dict, out: str) -> None:
    """The study's answer: each difference with its paired 95% CI and a zero line; faint marks: the same difference
    under the grader audit's other graders."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [(s, key, label, g) for s, g in sorted(gap.items()) for key, label in GAP_ROWS if key in g]
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(rows) + 1.2))
    for y, (s, key, label, g) in enumerate(reversed(rows)):
        lo, hi = g.get(f"{key}_ci95_low"), g.get(f"{key}_ci95_high")
        if lo is not None and hi is not None:
            ax.plot([lo, hi], [y, y], color="C0", lw=2)
        ax.plot([g[key]], [y], "o", color="C3" if lo is not None and (lo > 0 or hi < 0) else "C0")
        for gr in AUDIT_GRADERS:
            if g.get(f"{key}_{gr}") is not None:
                ax.plot([g[f"{key}_{gr}"]], [y], "|", color="grey", alpha=0.5, ms=10)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(range(len(rows)), [f"{s}: {label}" if len(gap) > 1 else label for s, _, label, _ in reversed(rows)])
    ax.set_xlabel("accuracy difference (points), paired 95% CI; grey ticks: other graders")
    ax.set_title("Learnability gap and mix gains (red: the interval excludes 0)")
    fig.tight_layout()
    _save(fig, out)


def plot_lengths(lengths: dict, out: str) -> None:
    """lengths: student -> recipe -> list of response token counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    for s in sorted(lengths):
        rs = [r for r in ORDER if r in lengths[s]]
        ax.boxplot([lengths[s][r] for r in rs], tick_labels=[LABEL[r] for r in rs])
    ax.set_ylabel("response tokens")
    ax.set_title("Student response length by training recipe")
    plt.setp(ax.get_xticklabels(), rotation=20)
    fig.tight_layout()
    _save(fig, out)


def plot_gap_sizes(gap: dict, students: dict, out: str) -> bool:
    """Δ_Long and Δ_Large against student size, one line per family (the paper's figures 2-3).
    Drawn only when two or more students ran; returns whether it was."""
    rows = [(s, students[s].get("family") or "students", students[s]["parameters"] / 1e9, g)
            for s, g in gap.items() if s in students and "delta_long" in g]
    if len(rows) < 2:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, key, title in ((axes[0], "delta_long", "Δ_Long = P_Long − P_Short"), (axes[1], "delta_large", "Δ_Large = P_Large − P_Small")):
        for family in sorted({r[1] for r in rows}):
            pts = sorted((size, g[key], g.get(f"{key}_ci95_low"), g.get(f"{key}_ci95_high"))
                         for _, f, size, g in rows if f == family and key in g)
            line = ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=family)[0]
            if all(p[2] is not None and p[3] is not None for p in pts):
                ax.errorbar([p[0] for p in pts], [p[1] for p in pts], fmt="none", ecolor=line.get_color(), capsize=3,
                            yerr=[[p[1] - p[2] for p in pts], [p[3] - p[1] for p in pts]])
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("student parameters (billions)")
        ax.set_title(title)
    axes[0].set_ylabel("accuracy difference (points), paired 95% CI")
    axes[0].legend()
    fig.tight_layout()
    _save(fig, out)
    return True


def _save(fig, out: str) -> None:
    import matplotlib.pyplot as plt

    with atomic_path(out, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100, metadata={"Software": None})
    plt.close(fig)
