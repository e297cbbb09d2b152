"""The Transformer (Vaswani et al. 2017): the paper's facts and the pieces of its recipe.

Masks, the positional-encoding formula, the learning-rate schedule, beam search against exhaustive
search, BPE, parameter counts, checkpoint averaging, token-bounded batches, the run record, the
Table 3 report rows and the translate script.
"""

from __future__ import annotations

import importlib.util
import io
import itertools
import math
import sys
from types import SimpleNamespace

import pytest
import torch

from datamodules.bpe import decode, encode, joint_bpe
from datamodules.token_batches import RaggedTokens, TokenBatches
from datamodules.translation import TranslationDataModule, load_hub_translation
from models.decoding import beam_search, greedy_decode, length_penalty, strip
from models.nets.transformer import BOS, EOS, PAD, Transformer, sinusoidal_positions
from models.transformer_schedule import InverseSqrtWarmup, inverse_sqrt_warmup
from repro.report.sections import vaswani2017 as table3
from repro.averaging import AverageLastCheckpoints, average_state_dicts
from repro.errors import UserError
from tests.conftest import FIXTURES, REPO

MULTI30K = FIXTURES / "multi30k"


def tiny(**kw) -> Transformer:
    torch.manual_seed(0)
    return Transformer(**{"vocab_size": 40, "layers": 2, "d_model": 32, "d_ff": 64, "heads": 4, "dropout": 0.1,
                          "max_len": 64, **kw}).eval()


def tokens(*rows: list[int]) -> torch.Tensor:
    width = max(len(r) for r in rows)
    return torch.tensor([r + [PAD] * (width - len(r)) for r in rows])


# ---- the net --------------------------------------------------------------------------------------

def test_decoder_position_never_sees_later_target_tokens():
    net = tiny()
    src = tokens([5, 6, 7, 8, EOS])
    tgt = torch.tensor([[BOS, 9, 10, 11, 12, 13]])
    before = net(src, tgt)
    for j in range(1, tgt.shape[1]):
        changed = tgt.clone()
        changed[0, j] = 20 + j
        after = net(src, changed)
        assert torch.allclose(after[:, :j], before[:, :j], atol=1e-5), f"position < {j} saw token {j}"
        assert not torch.allclose(after[:, j:], before[:, j:], atol=1e-5)  # and later positions do see it


def test_padding_changes_nothing_for_real_tokens():
    net = tiny()
    short_src, long_src = [5, 6, EOS], [7, 8, 9, 10, 11, 12, EOS]
    short_tgt, long_tgt = [BOS, 13, 14], [BOS, 15, 16, 17, 18, 19]
    alone = net(tokens(short_src), tokens(short_tgt))
    batched = net(tokens(short_src, long_src), tokens(short_tgt, long_tgt))
    assert torch.allclose(batched[0, : len(short_tgt)], alone[0], atol=1e-5)
    # and what a padded source position holds never reaches the output: it is masked, not just zero
    memory, mask = net.encode(tokens(short_src, long_src))
    assert mask[0, 0, 0].tolist() == [True] * 3 + [False] * 4


def test_sinusoidal_positions_follow_section_3_5():
    d_model = 16
    table = sinusoidal_positions(50, d_model)
    for pos, i in [(0, 0), (1, 0), (7, 3), (49, 7), (23, 5)]:
        angle = pos / 10000 ** (2 * i / d_model)
        assert table[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
        assert table[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)
    assert table[0, 0::2].abs().max() == 0 and torch.all(table[0, 1::2] == 1)


def test_embedding_is_shared_and_scaled_by_sqrt_d_model():
    net = tiny(dropout=0.0)
    x = net.embed(torch.tensor([[7]]))
    expected = net.embedding.weight[7] * math.sqrt(32) + sinusoidal_positions(1, 32)[0]
    assert torch.allclose(x[0, 0], expected, atol=1e-6)
    y = torch.randn(1, 32)
    assert torch.allclose(net.project(y), y @ net.embedding.weight.T, atol=1e-5)  # the pre-softmax weights
    assert sum(p.numel() for n, p in net.named_parameters() if "embedding" in n) == 40 * 32


def _count(**kw) -> int:
    with torch.device("meta"):
        return sum(p.numel() for p in Transformer(**kw).parameters())


def test_parameter_counts_of_the_papers_sizes():
    """Table 3 lists 65M (base) and 213M (big); the vocabulary is "about 37000" (section 5.1). With
    exactly 37,000 shared embedding rows and the paper's bias-free attention projections, the base
    net has 63.0M: the table's own rows (N = 2, 4, 8; d_k = 16, 32) imply about 41k x d_model
    embedding parameters, more than 37k. Big: 214.2M against 213M."""
    base = _count(vocab_size=37000)
    big = _count(vocab_size=37000, d_model=1024, d_ff=4096, heads=16, dropout=0.3)
    assert base == 63_045_632
    assert big == 214_171_648
    assert abs(base / 65e6 - 1) < 0.035 and round(big / 1e6) in (213, 214)
    # per layer pair (encoder + decoder): the paper's N=2 / N=8 rows differ from base by 29M and 15M
    assert _count(vocab_size=37000, layers=7) - base == pytest.approx(7.35e6, rel=0.01)


def test_multi30k_model_size():
    # the default `transformer` experiment: 3 layers, d_model 256, d_ff 512, joint vocabulary of 8,000
    assert _count(vocab_size=8000, layers=3, d_model=256, d_ff=512) == 5_992_448


# ---- the learning-rate schedule -------------------------------------------------------------------

def test_learning_rate_schedule_at_known_steps():
    rate = InverseSqrtWarmup(d_model=512, warmup=4000)
    assert rate(0) == pytest.approx(512 ** -0.5 * 4000 ** -1.5)  # step 1
    assert rate(3999) == pytest.approx(512 ** -0.5 * 4000 ** -0.5) == pytest.approx(6.9877e-4, rel=1e-4)  # the peak
    assert rate(1999) == pytest.approx(rate(3999) / 2, rel=1e-3)  # linear warm-up
    assert rate(15999) == pytest.approx(rate(3999) / 2, rel=1e-6)  # 1/sqrt(step) decay: 4x the steps, half the rate
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0, betas=(0.9, 0.98), eps=1e-9)
    schedule = inverse_sqrt_warmup(optimizer, d_model=512, warmup=4000)
    for _ in range(3999):
        optimizer.step()
        schedule.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(6.9877e-4, rel=1e-4)


# ---- decoding -------------------------------------------------------------------------------------

class ToyModel:
    """A 'model' whose next-token log-probabilities are a fixed random table of (sentence, step, last token)."""

    def __init__(self, batch: int, vocab: int = 6, steps: int = 4, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.table = torch.log_softmax(torch.randn(batch, steps, vocab, vocab, generator=g) * 2, dim=-1)
        self.max_len = 100

    def encode(self, src):
        return torch.arange(len(src)).float()[:, None], (src != PAD)[:, None, None, :]

    def start_decoding(self, memory):
        return {"sentence": memory[:, 0].long()}

    def decode_step(self, last, mask, state, position):
        return self.table[state["sentence"], position, last].clone()

    def reorder_state(self, state, order):
        return {"sentence": state["sentence"][order]}


def exhaustive_best(model: ToyModel, sentence: int, limit: int, alpha: float) -> tuple[list[int], float]:
    """Every sequence of up to `limit` tokens ending in EOS (none before), scored as beam search scores it."""
    words = [t for t in range(model.table.shape[-1]) if t not in (PAD, BOS, EOS)]
    best, best_score = None, -math.inf
    for length in range(limit):
        for body in itertools.product(words, repeat=length):
            seq, last, logp = [*body, EOS], BOS, 0.0
            for position, token in enumerate(seq):
                logp += model.table[sentence, position, last, token].item()
                last = token
            score = logp / length_penalty(len(seq), alpha)
            if score > best_score:
                best, best_score = list(body), score
    return best, best_score


@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.5])
def test_beam_search_finds_the_exhaustive_best(alpha):
    limit = 4  # max_len_a=0, max_len_b=4: at most 4 tokens including EOS; 40 candidate sequences per sentence
    model = ToyModel(batch=5, steps=limit, seed=int(alpha * 10))
    src = torch.full((5, 3), 7)
    found = strip(beam_search(model, src, beam=27, alpha=alpha, max_len_a=0.0, max_len_b=limit))  # 27 = 3^3 prefixes
    for sentence in range(5):
        assert found[sentence] == exhaustive_best(model, sentence, limit, alpha)[0]


def test_beam_4_never_scores_below_greedy_on_the_toy():
    model = ToyModel(batch=16, steps=4, seed=3)
    src = torch.full((16, 3), 7)

    def score(sentence, seq):
        last, logp = BOS, 0.0
        for position, token in enumerate([*seq, EOS]):
            logp += model.table[sentence, position, last, token].item()
            last = token
        return logp / length_penalty(len(seq) + 1, 0.6)

    beams = strip(beam_search(model, src, beam=4, alpha=0.6, max_len_a=0.0, max_len_b=4))
    greedy = strip(greedy_decode(model, src, max_len_a=0.0, max_len_b=4))
    assert all(score(i, b) >= score(i, g) - 1e-9 for i, (b, g) in enumerate(zip(beams, greedy)))


def test_greedy_takes_the_argmax_and_stops_at_eos():
    model = ToyModel(batch=3, steps=4, seed=1)
    out = greedy_decode(model, torch.full((3, 2), 7), max_len_a=0.0, max_len_b=4)
    for sentence, row in enumerate(out.tolist()):
        last = BOS
        for position, token in enumerate(row):
            logp = model.table[sentence, position, last].clone()
            logp[[PAD, BOS]] = -math.inf
            if position == 3:
                assert token in (EOS, PAD)
                break
            if last == EOS or token == PAD:
                break
            assert token == int(logp.argmax())
            last = token


def test_cached_decoding_matches_the_full_decoder():
    net = tiny()
    src = tokens([5, 6, 7, EOS], [8, 9, EOS])
    tgt_in = torch.tensor([[BOS, 11, 12, 13], [BOS, 14, 15, 16]])
    full = torch.log_softmax(net(src, tgt_in), dim=-1)
    memory, mask = net.encode(src)
    state = net.start_decoding(memory)
    for t in range(tgt_in.shape[1]):
        assert torch.allclose(net.decode_step(tgt_in[:, t], mask, state, t), full[:, t], atol=1e-5)


# ---- BPE and batches ------------------------------------------------------------------------------

def _lines(name: str) -> list[str]:
    return (MULTI30K / name).read_text(encoding="utf-8").splitlines()


def test_joint_bpe_round_trip_and_cache(tmp_path):
    texts = [_lines("train.de"), _lines("train.en")]
    tokenizer = joint_bpe(texts, 500, tmp_path)
    assert [tokenizer.token_to_id(t) for t in ("<pad>", "<s>", "</s>")] == [PAD, BOS, EOS]
    sentences = _lines("val.de") + _lines("val.en") + ["  Zwei  Männer, größer als 3€ — 日本!  "]
    assert decode(tokenizer, encode(tokenizer, sentences)) == sentences  # byte-level: exact, no unknown token
    assert sum(map(len, encode(tokenizer, sentences))) < sum(map(len, sentences)) / 2  # merges were learned
    cached = list((tmp_path / "bpe").glob("joint-500-*.json"))
    assert len(cached) == 1
    assert joint_bpe(texts, 500, tmp_path).get_vocab() == tokenizer.get_vocab()  # loaded, not retrained
    joint_bpe(texts, 400, tmp_path)
    assert len(list((tmp_path / "bpe").glob("*.json"))) == 2  # keyed by the vocabulary size too


def _ragged(lengths: list[int], start: int = 3) -> RaggedTokens:
    return RaggedTokens([[start + (i + j) % 30 for j in range(n)] for i, n in enumerate(lengths)])


def test_token_batches_cover_every_pair_once_within_the_budget():
    g = torch.Generator().manual_seed(0)
    src_len = torch.randint(1, 40, (500,), generator=g).tolist()
    tgt_len = torch.randint(2, 40, (500,), generator=g).tolist()
    src, tgt = _ragged(src_len), _ragged(tgt_len)
    batches = TokenBatches(src, tgt, max_tokens=256, bucket_width=4, shuffle=True, seed=0)
    epochs = [list(batches), list(batches)]
    assert len(epochs[0]) == len(batches)
    for epoch in epochs:
        seen = []
        for s, t in epoch:
            assert s.shape[0] * s.shape[1] <= 256 and t.shape[0] * (t.shape[1] - 1) <= 256
            seen.append(s.shape[0])
        assert sum(seen) == 500
    first = [s.shape for s, _ in epochs[0]]
    assert first != [s.shape for s, _ in epochs[1]]  # a new order every epoch
    # padded rows hold each sentence then PAD
    evaluation = TokenBatches(src, tgt, max_tokens=256, bucket_width=4, with_index=True)
    for s, t, index in evaluation:
        for row, i in zip(s.tolist(), index.tolist()):
            assert row[: src_len[i]] == src.flat[src.offsets[i] : src.offsets[i] + src_len[i]].tolist()
            assert set(row[src_len[i] :]) <= {PAD}
    assert sorted(i for *_, index in evaluation for i in index.tolist()) == list(range(500))


def test_token_batches_shard_over_ranks_and_resume():
    src, tgt = _ragged([5, 9, 3, 12, 7, 7, 2, 15] * 20), _ragged([6, 8, 4, 10, 7, 9, 3, 12] * 20)
    ranks = [TokenBatches(src, tgt, 64, shuffle=True, seed=1, rank=r, world_size=2) for r in range(2)]
    seen = [sorted(int(x) for s, _ in r for x in s[:, 0]) for r in ranks]
    assert len(ranks[0]) == len(ranks[1])
    assert sum(map(len, seen)) <= 160
    whole = TokenBatches(src, tgt, 64, shuffle=True, seed=1)
    iterator = iter(whole)
    for _ in range(3):
        next(iterator)
    position = whole.position()
    rest = [s for s, _ in iterator]
    resumed = TokenBatches(src, tgt, 64, shuffle=True, seed=1)
    resumed.seek(position)
    assert [torch.equal(a, b) for a, b in zip(rest, [s for s, _ in resumed])] == [True] * len(rest)


def test_datamodule_reads_multi30k_and_caches_bpe(tmp_path):
    data = TranslationDataModule(str(MULTI30K), vocab_size=600, cache_dir=str(tmp_path), max_tokens=256)
    data.setup()
    src, tgt = data.tokens["train"]
    assert len(src) == 300 and len(data.references["test"]) == 40
    first_tgt = tgt.flat[: tgt.lengths[0]].tolist()
    assert first_tgt[0] == BOS and first_tgt[-1] == EOS and src.flat[src.lengths[0] - 1] == EOS
    assert data.detokenize([first_tgt[1:-1]]) == [_lines("train.en")[0]]
    reverse = TranslationDataModule(str(MULTI30K), source_lang="en", target_lang="de", vocab_size=600,
                                    cache_dir=str(tmp_path))
    reverse.setup()
    assert reverse.references["val"][0] == _lines("val.de")[0]
    assert len(list((tmp_path / "bpe").glob("*.json"))) == 1  # the same joint vocabulary both ways


def test_missing_data_is_one_line(tmp_path):
    data = TranslationDataModule(str(tmp_path / "nowhere"))
    with pytest.raises(UserError, match=r"Multi30k not found: no train.de in .*nowhere"):
        data.prepare_data()


def test_wmt14_without_the_hub_is_one_line(monkeypatch):
    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'wmt/wmt14' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(UserError, match=r"cannot load wmt/wmt14 \(de-en\) split 'train'.*go online"):
        load_hub_translation("wmt/wmt14", "de-en", "train", "en", "de")


# ---- checkpoint averaging -------------------------------------------------------------------------

def test_average_state_dicts():
    states = [{"w": torch.full((2,), float(v)), "steps": torch.tensor(v)} for v in (1, 2, 6)]
    averaged = average_state_dicts(states)
    assert torch.equal(averaged["w"], torch.full((2,), 3.0)) and averaged["steps"] == 6


def test_averaging_callback_loads_the_mean_of_the_last_n_epochs():
    module = SimpleNamespace(net=torch.nn.Linear(2, 1, bias=False))
    callback = AverageLastCheckpoints(last_n=3)
    for value in (10.0, 1.0, 2.0, 6.0):  # four epoch ends; the first drops out
        with torch.no_grad():
            module.net.weight.fill_(value)
        callback.on_train_epoch_end(None, module)
    restored = AverageLastCheckpoints(last_n=3)
    restored.load_state_dict(callback.state_dict())  # travels in checkpoints
    restored.on_train_end(None, module)
    assert torch.allclose(module.net.weight, torch.full((1, 2), 3.0)) and module.averaged_over == 3


def test_averaging_from_files_keeps_only_the_last_n(tmp_path):
    module = SimpleNamespace(net=torch.nn.Linear(2, 1, bias=False))
    trainer = SimpleNamespace(global_step=0, is_global_zero=True, strategy=SimpleNamespace(broadcast=lambda x: x))
    callback = AverageLastCheckpoints(last_n=2, every_n_train_steps=10, dirpath=str(tmp_path / "average"))
    for step, value in ((10, 1.0), (20, 3.0), (30, 5.0)):
        trainer.global_step = step
        with torch.no_grad():
            module.net.weight.fill_(value)
        callback.on_train_batch_end(trainer, module, None, None, 0)
    assert sorted(p.name for p in (tmp_path / "average").iterdir()) == ["weights-step20.pt", "weights-step30.pt"]
    assert all(isinstance(s, str) for s in callback.state_dict()["snapshots"])  # checkpoints carry names only
    callback.on_train_end(trainer, module)
    assert torch.allclose(module.net.weight, torch.full((1, 2), 4.0))
    trainer.global_step = 35  # training ended between two intervals: the final weights join the average
    with torch.no_grad():
        module.net.weight.fill_(9.0)
    callback.on_train_end(trainer, module)
    assert torch.allclose(module.net.weight, torch.full((1, 2), 7.0))  # (5 + 9) / 2


# ---- a whole run, the report and the translate script ---------------------------------------------

def test_transformer_record_has_tokens_bleu_and_signature(smoke_cfg):
    from repro.pipeline import run

    record = run(smoke_cfg("transformer"))
    assert record["tokens_per_s"] > 0 and record["flops_per_token_train"] > 2 * record["flops_per_token_forward"] > 0
    assert record["flops_per_sample_train"] is None  # its FLOPs are per token
    assert record["achieved_tflops"] == pytest.approx(record["flops_per_token_train"] * record["tokens_per_s"] / 1e12)
    assert record["bleu"]["test"]["signature"].startswith("nrefs:1|case:mixed|eff:no|tok:13a")
    assert {"val/bleu", "test/bleu", "val/ppl", "test/ppl"} <= set(record["metrics"])
    assert record["decoding"] == {"method": "beam", "max_len": "1 * source length + 2", "beam_size": 4,
                                  "length_penalty": 0.6}
    assert [c["id"] for c in record["claims"]] == ["bentrevett.multi30k_de_en"]


def fake(experiment: str, seed: int, bleu: float, ppl: float) -> dict:
    return {"experiment": experiment, "seed": seed, "metrics": {"val/bleu": bleu, "val/ppl": ppl, "epochs": 3.0},
            "claims": [], "wall_time_s": 120.0, "tokens_per_s": 2000.0, "hardware": {"summary": "Test CPU"},
            "config": {"data": {"source_lang": "de", "target_lang": "en"}},
            "bleu": {"val": {"signature": "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"}},
            "decoding": {"method": "greedy"}}


def test_table3_methods_pair_each_variant_with_the_base_of_its_seed():
    base = [fake("base", 0, 30.0, 8.0), fake("base", 1, 31.0, 8.2)]
    one_head = [fake("one_head", 0, 28.0, 9.0), fake("one_head", 1, 29.5, 9.1), fake("one_head", 2, 20.0, 9.9)]
    used, values = table3.base_minus_variant(one_head, base, metric="val/bleu")
    assert len(used) == 4 and values == [2.0, 1.5]  # seed 2 has no base run
    assert table3.base_minus_variant(one_head, base, metric="val/ppl")[1] == pytest.approx([-1.0, -0.9])
    assert table3.distance_from_base([fake("x", 0, 30.4, 8.0)], base, metric="val/bleu")[1] == pytest.approx([0.4])
    assert table3.noise_verdict([2.0, 1.5]) == "beyond seed noise" and table3.noise_verdict([1.0]).startswith("one seed")


def test_report_shows_table3_verdicts_and_derived_claims(tmp_path):
    from repro.claims import load_claims
    from repro.experiments import Experiment
    from repro.report.build import build_report

    claims = load_claims(REPO / "results" / "claims.yaml")
    recipe = ({"data": {"source_lang": "de", "target_lang": "en"}},)
    experiments = {
        "base": Experiment("base", (), (), "", {"section": "vaswani2017"}, (), recipe),
        "one_head": Experiment("one_head", (), (), "", {"section": "vaswani2017", "derived": [
            {"claim": "vaswani2017.table3_one_head", "method": "base_minus_variant", "with": "base", "metric": "val/bleu"}]},
            (), recipe)}
    records = [fake("base", 0, 30.0, 8.0), fake("one_head", 0, 28.0, 9.0)]
    report = build_report(claims, records, tmp_path, experiments=experiments).read_text()
    assert "## The Transformer (Vaswani et al. 2017)" in report
    row = next(line for line in report.splitlines() if line.startswith("| `vaswani2017.table3_one_head` |"))
    assert "| 2 (n=1) |" in row and "| reproduced |" in row  # 2 BLEU points, one-sided: the direction held
    assert "| base |" not in report.split("## Stand-ins")[1].split("##")[0]


def _write_translator(tmp_path) -> str:
    tokenizer = joint_bpe([_lines("train.de"), _lines("train.en")], 300, tmp_path)
    net = tiny(vocab_size=300)
    path = tmp_path / "translator.pt"
    torch.save({"net_class": "models.nets.transformer.Transformer", "net_config": net.config,
                "state_dict": net.state_dict(), "tokenizer": tokenizer.to_str(), "source_lang": "de",
                "target_lang": "en", "decoding": {}, "checkpoints_averaged": 0}, path)
    return str(path)


def _translate_main():
    spec = importlib.util.spec_from_file_location("translate_script", REPO / "scripts" / "translate.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script.main


def test_translate_script(tmp_path, capsys, monkeypatch):
    main, path = _translate_main(), _write_translator(tmp_path)
    assert main(["--checkpoint", path, "Ein Hund.", "Zwei Männer."]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 2 and "(de -> en)" in err
    monkeypatch.setattr(sys, "stdin", io.StringIO("Ein Hund.\n\nZwei Männer.\n"))  # typed lines; blank ones skipped
    assert main(["--checkpoint", path, "--greedy"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    assert main(["--checkpoint", str(tmp_path / "none.pt"), "x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and len(err.splitlines()) == 1 and "none.pt" in err


def test_translate_without_a_trained_run_is_one_line(tmp_path, capsys, monkeypatch):
    main = _translate_main()
    monkeypatch.setitem(main.__globals__, "ROOT", tmp_path)
    assert main(["Ein Hund."]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "make reproduce-transformer" in err
