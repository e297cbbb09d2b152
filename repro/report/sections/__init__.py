"""One module per paper, named by the `report.section` of its experiments' YAML. Each may define
`section(ctx) -> list[str]` (its part of REPORT.md; ctx is repro.report.build.SectionContext) and
`METHODS` (the functions that measure its derived claims, named in `report.derived`)."""
