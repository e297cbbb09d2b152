"""Text from a trained GPT (the net a run leaves in checkpoints/gpt.pt), sampled as nanoGPT's sample.py:
temperature 0.8 and the 200 most likely characters by default.

    python scripts/sample.py --prompt "ROMEO:" --length 300
    make sample ARGS="--prompt 'ROMEO:' --temperature 0.9 --top-k 40"
    make sample ARGS="--experiment gpt_shakespeare"       (that experiment's newest model)

Default checkpoint: the newest gpt.pt under outputs/ and multirun/ (any GPT experiment, or --experiment's).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from datamodules.char_text import decode_ids, encode_text
from models.sampling import generate
from repro.errors import UserError
from repro.exported import load_export, newest_export

ROOT = Path(__file__).resolve().parent.parent
ALLOWED_NETS = {"models.nets.gpt.GPT"}


def newest_checkpoint(root: Path, experiment: str | None) -> Path:
    how = f"`make reproduce-{experiment}`" if experiment else "a GPT experiment (`make reproduce-gpt_shakespeare_cpu`)"
    return newest_export(root, "gpt.pt", experiment or "*", f"{experiment} GPT" if experiment else "GPT", how)


def load_gpt(path: Path) -> tuple[torch.nn.Module, dict]:
    net, saved, _ = load_export(path, ALLOWED_NETS, "GPT", read_extra=lambda saved: str(saved["chars"]))
    return net, saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompt", default="\n", help="text to continue (default: a newline)")
    parser.add_argument("--length", type=int, default=500, help="characters to generate")
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--top-k", type=int, default=200, help="sample among the k most likely (0: all)")
    parser.add_argument("--samples", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--checkpoint", type=Path, help="a checkpoints/gpt.pt (default: the newest run's)")
    parser.add_argument("--experiment", help="whose newest checkpoint to use (default: any GPT experiment's)")
    args = parser.parse_args(argv)
    try:
        for name, value, low in (("--length", args.length, 0), ("--top-k", args.top_k, 0), ("--samples", args.samples, 1)):
            if value < low:
                raise UserError(f"{name} {value} must be at least {low}")
        if not args.temperature > 0:
            raise UserError(f"--temperature {args.temperature} must be above 0 (0.8 is nanoGPT's)")
        if not args.prompt:
            raise UserError("--prompt is empty: give at least one character (the default is a newline)")
        path = args.checkpoint or newest_checkpoint(ROOT, args.experiment)
        net, saved = load_gpt(path)
        unknown = sorted(set(args.prompt) - set(saved["chars"]))
        if unknown:
            raise UserError(f"--prompt has characters the model never saw in {saved['what']} "
                            f"({''.join(unknown)!r}): use only characters of its training text")
        prompt = encode_text(args.prompt, saved["chars"]).long()[None].repeat(args.samples, 1)
        print(f"{path} ({saved['what']}, {saved['steps']} steps)", file=sys.stderr)
        generator = torch.Generator().manual_seed(args.seed)
        out = generate(net, prompt, args.length, args.temperature, args.top_k or None, generator)
        for i, ids in enumerate(out.tolist()):
            if i:
                print("\n---------------")
            print(decode_ids(ids, saved["chars"]))
        return 0
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
