"""Every experiment config, shrunk by debug=smoke, run in this one process (imports paid once).
Records go to outputs/smoke/results, never to results/. Exits 1 if any experiment fails.
Arguments are extra Hydra overrides for every experiment: `make smoke ARGS="trainer=gpu"`."""

import sys
import time
import warnings

from repro.allocator import keep_freed_memory
from repro.cli import check_overrides
from repro.compose import compose_experiment, experiment_names, smoke_overrides
from repro.errors import UserError, brief
from repro.pipeline import run


def main() -> int:
    warnings.filterwarnings("ignore")
    keep_freed_memory()  # as scripts/train.py does
    failed, extra = [], sys.argv[1:]
    try:  # a bad override fails once, here, not once per experiment
        check_overrides(extra)
    except UserError as error:
        print(f"error: {brief(error)}", file=sys.stderr)
        return 2
    for name in experiment_names():
        started = time.perf_counter()
        try:
            overrides = [*smoke_overrides(name), "paths.results_dir=outputs/smoke/results", *extra]
            run(compose_experiment(name, f"outputs/smoke/{name}", overrides), overrides=overrides)
            print(f"smoke {name}: ok in {time.perf_counter() - started:.1f} s")
        except Exception as error:  # report every experiment, then fail
            failed.append(name)
            print(f"smoke {name}: FAILED ({error.__class__.__name__}: {brief(error)})", file=sys.stderr)
    print(f"{len(experiment_names()) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("stopped by SIGINT: the experiments above finished, the one running did not", file=sys.stderr)
        sys.exit(130)
