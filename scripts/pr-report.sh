#!/usr/bin/env bash
# Build the pull-request report that CML posts: the gap outcomes with their intervals, what moved against BASE
# (metrics, params, plots overlaid), then the study report.
#   scripts/pr-report.sh [BASE] [OUT]      (defaults: main, pr-report.md; plots go to plots-diff/ beside OUT)
# The GitHub workflow runs this, then `cml comment update --publish OUT` (one comment per PR, edited on every push).
# Run it locally to rehearse: it needs only git, dvc and this repo's python.
set -euo pipefail
base="${1:-main}"
out="${2:-pr-report.md}"
plots="$(dirname "$out")/plots-diff"
git rev-parse --verify -q "$base^{commit}" > /dev/null || { echo "pr-report: no revision '$base' (fetch it first: git fetch origin main)" >&2; exit 2; }
mkdir -p "$(dirname "$out")"
rm -rf "$plots"
dvc plots diff "$base" --json -o "$plots" > "$plots.json"
{
  echo "## mixdistill: gap outcomes (this revision)"
  echo
  python - <<'PY'
import json, pathlib
p = pathlib.Path("metrics/gap_stats.json")
gap = json.loads(p.read_text()) if p.exists() else {}
rows = [("Δ_Long", "delta_long"), ("Δ_Large", "delta_large"), ("Mix-Long gain", "mix_long_gain"),
        ("Mix-Large gain", "mix_large_gain")]
if not gap:
    print("(no metrics/gap_stats.json: the gap stage has not run)")
for student, g in gap.items():
    print(f"**{student}** ({g.get('train_seeds')} training seed(s); points of accuracy; paired bootstrap 95% CI "
          "over problems, exact McNemar p, smallest difference detectable at 80% power)\n")
    print("| statistic | value | 95% CI | McNemar p | detectable |\n|---|---|---|---|---|")
    for name, k in rows:
        if k in g:
            print(f"| {name} | {g[k]:+.2f} | [{g[k + '_ci95_low']:+.2f}, {g[k + '_ci95_high']:+.2f}] | "
                  f"{g[k + '_p_mcnemar']:.3g} | ±{g[k + '_mde80']:.2f} |")
    print()
PY
  echo "## Metrics against \`$base\`"
  echo
  changed="$(dvc metrics diff "$base" --md --precision 2)"
  if [ "$(printf '%s\n' "$changed" | grep -c '^| ')" -le 1 ]; then
    echo "No metric changed against \`$base\` (\`dvc metrics diff $base --all\` lists them all)."
  else
    printf '%s\n' "$changed"
  fi
  echo
  echo "## Params that moved"
  echo
  dvc params diff "$base" --md
  echo
  echo "## Plots: \`$base\` and this revision"
  echo
  python - "$plots.json" "$plots" "$base" <<'PY'
# Every plot of `dvc plots diff`: data plots (Vega-Lite, revisions overlaid) are drawn to PNG with vl-convert so
# the PR comment shows them; image plots are shown side by side, one per revision.
import json, os, re, sys
import vl_convert
data = json.load(open(sys.argv[1]))["data"]
folder, base = sys.argv[2], sys.argv[3]
rel = os.path.basename(folder)
os.makedirs(folder, exist_ok=True)  # dvc writes it only for image plots
training = []  # dvclive's per-run curves: many, so folded away below the study's plots
for name, entries in data.items():
    lines = []
    images = [e for e in entries if e["type"] == "image"]
    if images:
        lines.append(f"**{name}**\n\n| " + " | ".join(e["revisions"][0] for e in images) + " |\n|" + "---|" * len(images))
        lines.append("| " + " | ".join(f"![{e['revisions'][0]}]({rel}/{os.path.basename(e['url'])})" for e in images) + " |\n")
    for e in entries:
        if e["type"] == "vega":
            png = re.sub(r"[^A-Za-z0-9_.-]+", "_", name) + ".png"
            with open(os.path.join(folder, png), "wb") as fh:
                fh.write(vl_convert.vegalite_to_png(e["content"], scale=1))
            revs = sorted(e["revisions"], key=lambda r: r != base)  # the base first
            lines.append(f"**{name}** ({', '.join(revs)})\n\n![{name}]({rel}/{png})\n")
    if name.startswith("dvclive/"):
        training += lines
    else:
        print("\n".join(lines))
if training:
    print(f"<details><summary>Training curves ({len(training)} plots)</summary>\n")
    print("\n".join(training))
    print("</details>\n")
print(f"Interactive versions: `dvc plots diff {base}` in a checkout of this branch (writes dvc_plots/index.html).")
PY
  echo
  if [ -f report.md ]; then
    echo "<details><summary>Full report</summary>"
    echo
    cat report.md
    echo
    echo "</details>"
  fi
} > "$out"
rm -f "$plots.json"
echo "wrote $out (plots in $plots/)"
