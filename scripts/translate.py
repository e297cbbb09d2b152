"""Translate sentences with a trained Transformer (the averaged weights a run leaves in
checkpoints/translator.pt), by beam search as in Vaswani et al. 2017, section 6.1.

    python scripts/translate.py "Ein Hund rennt durch den Schnee."          (sentences as arguments)
    echo "Zwei Männer spielen Fußball." | python scripts/translate.py      (or one per line on stdin)
    make translate ARGS="'Ein Hund rennt durch den Schnee.'"

Default checkpoint: the newest translator.pt of any run (outputs/*/, multirun/*/), or of one experiment
with --experiment NAME.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from tokenizers import Tokenizer

from datamodules.bpe import decode, encode
from models.decoding import beam_search, greedy_decode, strip
from models.nets.transformer import EOS, PAD
from repro.errors import UserError
from repro.exported import load_export, newest_export

ROOT = Path(__file__).resolve().parent.parent
ALLOWED_NETS = {"models.nets.transformer.Transformer"}


def newest_checkpoint(root: Path, experiment: str = "*") -> Path:
    return newest_export(root, "translator.pt", experiment, "translation", "`make reproduce-transformer`")


def load_translator(path: Path) -> tuple[torch.nn.Module, Tokenizer, dict]:
    net, saved, tokenizer = load_export(path, ALLOWED_NETS, "translator",
                                        read_extra=lambda saved: Tokenizer.from_str(saved["tokenizer"]))
    return net, tokenizer, saved


def translate(net: torch.nn.Module, tokenizer: Tokenizer, sentences: list[str], beam: int, alpha: float,
              greedy: bool = False) -> list[str]:
    ids = [s + [EOS] for s in encode(tokenizer, sentences)]
    width = max(len(s) for s in ids)
    src = torch.tensor([s + [PAD] * (width - len(s)) for s in ids])
    with torch.inference_mode():
        out = greedy_decode(net, src) if greedy else beam_search(net, src, beam=beam, alpha=alpha)
    return decode(tokenizer, strip(out))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sentences", nargs="*", help="sentences to translate (default: one per line on stdin)")
    parser.add_argument("--checkpoint", type=Path, help="a checkpoints/translator.pt (default: the newest run's)")
    parser.add_argument("--experiment", default="*", help="whose newest checkpoint to use (default: any run's)")
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--alpha", type=float, default=0.6, help="length penalty")
    parser.add_argument("--greedy", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.beam < 1:
            raise UserError(f"--beam {args.beam} must be at least 1")
        path = args.checkpoint or newest_checkpoint(ROOT, args.experiment)
        net, tokenizer, saved = load_translator(path)
        print(f"{path} ({saved['source_lang']} -> {saved['target_lang']})", file=sys.stderr)
        if args.sentences:
            for line in translate(net, tokenizer, args.sentences, args.beam, args.alpha, args.greedy):
                print(line)
            return 0
        for sentence in sys.stdin:  # one at a time, so typing works interactively
            if sentence.strip():
                print(translate(net, tokenizer, [sentence.strip()], args.beam, args.alpha, args.greedy)[0], flush=True)
        return 0
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
