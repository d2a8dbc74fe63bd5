"""Comparison reports from the CSV logs of runs (src/report.py): tables and curves, no W&B needed.

runs.py      find run directories and read each: overrides, curves, iterations, wall time, protocol
summary.py   final and best values (which way each metric improves), labels, groups, mean ± std
tables.py    the markdown tables and the list of evaluation protocols
plots.py     the curve figures (PNG)
document.py  the whole report: choose metrics, assemble report.md, draw the figures
"""
