"""GPT (models/nets/gpt.py), the character-level datamodule and the language-model system: the papers'
and nanoGPT's facts, on tiny sizes."""

import math

import pytest
import torch

from datamodules.char_text import CharTextDataModule, RandomBlocks, blocks_at, char_codes, encode_text, vocabulary
from models.language_model import LanguageModel
from models.nets.gpt import GPT, SIZES
from repro.errors import UserError
from repro.meter import count_flops
from tests.conftest import FIXTURES


def tiny(**overrides) -> GPT:
    args = {"vocab_size": 11, "block_size": 16, "n_layer": 2, "n_head": 2, "n_embd": 16, "dropout": 0.0, "bias": True}
    return GPT(**(args | overrides)).eval()


def nanogpt_param_count(vocab: int, block: int, n_layer: int, n_embd: int, bias: bool) -> int:
    """nanoGPT's model.py, layer by layer: wte, wpe; per block ln_1, c_attn, c_proj, ln_2, c_fc, c_proj; ln_f."""
    d, b = n_embd, int(bias)
    per_block = (d + b * d) + (3 * d * d + b * 3 * d) + (d * d + b * d) + (d + b * d) + (4 * d * d + b * 4 * d) \
        + (4 * d * d + b * d)
    return vocab * d + block * d + n_layer * per_block + (d + b * d)


@pytest.mark.parametrize("bias", [True, False])
def test_later_tokens_never_change_earlier_outputs(bias):
    torch.manual_seed(0)
    net = tiny(bias=bias)
    idx = torch.randint(0, 11, (3, 16))
    changed = idx.clone()
    changed[:, 9:] = (changed[:, 9:] + 1) % 11
    with torch.no_grad():
        before, after = net(idx), net(changed)
    torch.testing.assert_close(before[:, :9], after[:, :9])
    assert not torch.allclose(before[:, 9:], after[:, 9:])


@pytest.mark.parametrize(("size", "bias", "vocab", "block"), [
    ({"n_layer": 4, "n_head": 4, "n_embd": 128}, False, 65, 64),     # nanoGPT's CPU shakespeare_char
    ({"n_layer": 6, "n_head": 6, "n_embd": 384}, False, 65, 256),    # its GPU shakespeare_char
    (SIZES["gpt2"], True, 50257, 1024),                              # GPT-2 small
])
def test_parameter_counts_match_nanogpt(size, bias, vocab, block):
    with torch.device("meta"):  # counts without allocating GPT-2's 124M parameters
        net = GPT(vocab, block, dropout=0.0, bias=bias, **size)
    total = sum(p.numel() for p in net.parameters())
    assert total == nanogpt_param_count(vocab, block, size["n_layer"], size["n_embd"], bias)
    # nanoGPT prints get_num_params(): all parameters less the position embeddings
    printed = {128: "0.80M", 384: "10.65M", 768: "123.65M"}[size["n_embd"]]
    assert f"{(total - block * size['n_embd']) / 1e6:.2f}M" == printed


def test_gpt2_small_has_124m_parameters():
    with torch.device("meta"):
        net = GPT(50257, 1024, bias=True, **SIZES["gpt2"])
    assert sum(p.numel() for p in net.parameters()) == 124_439_808  # the released GPT-2 small, tied head
    # Kaplan's N, about 12 n_layer d^2: 85M for GPT-2 small
    assert net.non_embedding_params() == 124_439_808 - 50257 * 768 - 1024 * 768
    assert abs(net.non_embedding_params() / (12 * 12 * 768 ** 2) - 1) < 0.01


def test_output_layer_is_the_token_embedding():
    torch.manual_seed(0)
    net = tiny()
    assert not any(p.shape == net.wte.weight.shape and p is not net.wte.weight for p in net.parameters())
    idx = torch.randint(0, 10, (2, 16))  # token 10 is never an input
    hidden = {}
    net.ln_f.register_forward_hook(lambda module, args, out: hidden.setdefault("h", out))
    logits = net(idx)
    torch.testing.assert_close(logits, hidden["h"] @ net.wte.weight.T)
    # the loss reaches the embedding row of a token that never was an input: through the output layer
    logits[..., 10].sum().backward()
    assert net.wte.weight.grad[10].abs().sum() > 0


def test_gpt2_initialisation():
    torch.manual_seed(0)
    net = GPT(vocab_size=256, block_size=64, n_layer=8, n_head=4, n_embd=256, bias=True)
    for block in net.blocks:
        for residual in (block.attn.out.weight, block.mlp.proj.weight):
            assert abs(residual.std().item() / (0.02 / math.sqrt(16)) - 1) < 0.05
        assert abs(block.attn.qkv.weight.std().item() / 0.02 - 1) < 0.05
        assert block.attn.qkv.bias.abs().sum() == 0
    assert abs(net.wte.weight.std().item() / 0.02 - 1) < 0.05 and abs(net.wpe.weight.std().item() / 0.02 - 1) < 0.05


def test_context_longer_than_the_block_is_refused():
    with pytest.raises(ValueError, match="block_size"):
        tiny()(torch.zeros(1, 17, dtype=torch.long))


def test_counted_flops_against_kaplans_estimate():
    L, T, d, V = 4, 64, 128, 65
    net = GPT(vocab_size=V, block_size=T, n_layer=L, n_head=4, n_embd=d, bias=False)
    idx = torch.randint(0, V, (2, T))
    forward, train = count_flops(net, idx)
    # torch counts the matmuls (6 x 12 L d^2, Kaplan's 6N), the de-embedding (6 d V, which Kaplan leaves out) and
    # the attention at full width: forward 4 L T d (dense scores and values), backward 2.5 times that (the
    # fused kernel recomputes the scores): 14 L T d, where Kaplan's causal count is 6 L T d.
    assert train / idx.numel() == 6 * 12 * L * d * d + 6 * d * V + 14 * L * T * d
    assert forward / idx.numel() == 2 * 12 * L * d * d + 2 * d * V + 4 * L * T * d
    assert abs(train / idx.numel() / net.kaplan_flops_per_token() - 1) < 0.1


# ---- the datamodule ----

def test_encoding_is_a_table_lookup_over_code_points():
    chars = "".join(sorted(set("naïve — text")))
    assert vocabulary(char_codes("naïve — text")) == chars  # nanoGPT's sorted(set(text)), in numpy
    ids = encode_text("naïve — text", chars)
    assert "".join(chars[i] for i in ids) == "naïve — text"
    with pytest.raises(UserError, match="outside the vocabulary"):
        encode_text("xyz", chars)


def test_blocks_are_consecutive_and_targets_shifted_by_one():
    data = torch.arange(100)
    x, y = blocks_at(data, torch.tensor([0, 37]), 8)
    assert x.tolist()[1] == list(range(37, 45)) and y.tolist()[1] == list(range(38, 46))


def test_random_blocks_draw_new_offsets_each_epoch_and_resume_where_they_stood():
    data = torch.arange(1000)
    batches = RandomBlocks(data, 8, 4, steps=3, seed=1)
    first, second = [x for x, _ in batches], [x for x, _ in batches]
    assert not torch.equal(first[0], second[0])
    again = RandomBlocks(data, 8, 4, steps=3, seed=1)
    again.seek({"epoch": 1, "served": 2})
    assert [x.tolist() for x, _ in again] == [second[2].tolist()]
    fixed = RandomBlocks(data, 8, 4, steps=2, seed=1, fixed=True)
    assert [x.tolist() for x, _ in fixed] == [x.tolist() for x, _ in fixed]


def fixture_datamodule(**overrides) -> CharTextDataModule:
    args = {"data_dir": str(FIXTURES / "tinyshakespeare"), "file": "input.txt", "vocab_size": 65, "block_size": 32,
            "batch_size": 4, "eval_iters": 2, "steps_per_epoch": 3}
    datamodule = CharTextDataModule(**(args | overrides))
    datamodule.setup()
    return datamodule


def test_split_is_nanogpts_first_90_percent_and_last_10():
    datamodule = fixture_datamodule()
    text = (FIXTURES / "tinyshakespeare" / "input.txt").read_text()
    assert len(datamodule.splits["train"]) == int(len(text) * 0.9)
    assert datamodule.decode(datamodule.splits["val"].tolist()) == text[int(len(text) * 0.9):]
    assert datamodule.chars == "".join(sorted(set(text)))


def test_final_pass_covers_the_held_out_split_once():
    datamodule = fixture_datamodule()
    blocks = list(datamodule.test_dataloader())
    x = torch.cat([b[0] for b in blocks])
    val = datamodule.splits["val"]
    assert len(x) == (len(val) - 1) // 32
    assert torch.equal(x.flatten(), val[: x.numel()].long())
    capped = fixture_datamodule(eval_tokens=64)
    assert sum(len(b[0]) for b in capped.test_dataloader()) == 2


@pytest.mark.parametrize(("overrides", "message"), [
    ({"file": "/nowhere/input.txt"}, "not found at /nowhere"),
    ({"vocab_size": 20}, "set data.vocab_size="),
    ({"block_size": 5000}, "block_size=5000"),
])
def test_bad_input_says_what_to_do(overrides, message):
    with pytest.raises(UserError, match=message):
        fixture_datamodule(**overrides)


# ---- the system ----

def test_weight_decay_only_on_matrices_and_embeddings():
    net = tiny()
    system = LanguageModel(net, optimizer=lambda params: torch.optim.AdamW(params, weight_decay=0.1))
    optimizer = system.configure_optimizers()
    decayed, plain = optimizer.param_groups
    assert decayed["weight_decay"] == 0.1 and plain["weight_decay"] == 0.0
    assert all(p.dim() >= 2 for p in decayed["params"]) and all(p.dim() == 1 for p in plain["params"])
    assert len(decayed["params"]) + len(plain["params"]) == len(list(net.parameters()))


def test_a_compute_budget_sets_the_steps_and_the_schedule_ends_there():
    import functools

    import lightning as L

    from models.lr_schedules import warmup_decay

    torch.manual_seed(0)
    datamodule = fixture_datamodule(block_size=16, batch_size=2, steps_per_epoch=4)
    net = GPT(vocab_size=65, block_size=16, n_layer=1, n_head=2, n_embd=16, bias=False)
    per_token = count_flops(net, torch.zeros(2, 16, dtype=torch.long))[1] / 32
    system = LanguageModel(net, optimizer=functools.partial(torch.optim.AdamW, lr=1e-3),
                           scheduler=functools.partial(warmup_decay, warmup_steps=2, final_factor=0.1),
                           compute_budget=per_token * 32 * 7)  # 7 steps of 2 blocks x 16 characters
    trainer = L.Trainer(accelerator="cpu", max_epochs=None, max_steps=-1, limit_val_batches=0, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(system, datamodule=datamodule)
    assert trainer.global_step == 7 and system.tokens_seen() == 7 * 32
    assert 3.0 < float(trainer.callback_metrics["train/loss"]) < 4.5  # the epoch's mean, near ln 65 at the start
    assert trainer.lr_scheduler_configs[0].scheduler.get_last_lr()[0] == pytest.approx(1e-4)
    with pytest.raises(UserError, match="compute_budget"):
        LanguageModel(net, optimizer=torch.optim.AdamW, compute_budget=0)


def test_where_the_text_lives_is_not_the_recipe(tmp_path):
    from omegaconf import OmegaConf

    from repro.compose import compose_experiment
    from repro.recipe import fingerprint

    def recipe(data_dir):
        cfg = compose_experiment("gpt_shakespeare_cpu", tmp_path, [f"paths.data_dir={data_dir}"])
        return fingerprint(OmegaConf.to_container(cfg, resolve=True))

    assert recipe("/one/place") == recipe("/another")
