"""results/REPORT.md from the claims registry and the run records: a core (repro/report/build.py,
evidence.py, tables.py) and one module per paper in repro/report/sections/."""
