"""What a run shows: the targets as ratios, the printed tables, the charts and where the results are written.

- `targets`: every target, a ratio (or a count) of two figures measured side by side.
- `tables`: the printed report, in Markdown.
- `charts`, `svg`: the Performance page's charts, drawn as plain SVG.
- `publish`: bench-results/ after every run, docs/assets/bench with `--publish`.
"""
