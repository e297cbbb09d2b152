"""scripts/sample.py: text from a GPT checkpoint, one clear line when there is none or the input is bad."""

import importlib.util

import torch

from models.nets.gpt import GPT
from models.sampling import generate
from tests.conftest import REPO

_spec = importlib.util.spec_from_file_location("sample_script", REPO / "scripts" / "sample.py")
sample = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sample)

CHARS = "\n !:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def write_checkpoint(path):
    torch.manual_seed(0)
    net = GPT(vocab_size=len(CHARS), block_size=8, n_layer=1, n_head=2, n_embd=16, bias=False)
    path.parent.mkdir(parents=True)
    torch.save({"net_class": "models.nets.gpt.GPT", "net_config": net.config, "state_dict": net.state_dict(),
                "chars": CHARS, "what": "test text", "steps": 3}, path)
    return path


def test_samples_text_of_the_asked_length_from_the_vocabulary(tmp_path, capsys):
    path = write_checkpoint(tmp_path / "run" / "checkpoints" / "gpt.pt")
    assert sample.main(["--checkpoint", str(path), "--prompt", "ROMEO:", "--length", "30"]) == 0
    text = capsys.readouterr().out.rstrip("\n")
    assert text.startswith("ROMEO:") and len(text) == len("ROMEO:") + 30 and set(text) <= set(CHARS)


def test_same_seed_same_text_and_top_1_is_greedy():
    torch.manual_seed(0)
    net = GPT(vocab_size=10, block_size=4, n_layer=1, n_head=1, n_embd=8).eval()
    idx = torch.zeros(1, 1, dtype=torch.long)
    first = generate(net, idx, 12, 1.0, None, torch.Generator().manual_seed(1))
    assert torch.equal(first, generate(net, idx, 12, 1.0, None, torch.Generator().manual_seed(1)))
    greedy = generate(net, idx, 6, 1.0, top_k=1)  # context longer than block_size is cropped
    step = idx
    for _ in range(6):
        step = torch.cat([step, net(step[:, -4:])[:, -1].argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(greedy, step)


def test_no_checkpoint_is_one_clear_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sample, "ROOT", tmp_path)
    assert sample.main([]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: no trained GPT checkpoint") and "make reproduce-" in err[0]


def test_bad_input_is_one_clear_line(tmp_path, capsys):
    path = write_checkpoint(tmp_path / "run" / "checkpoints" / "gpt.pt")
    for args, words in ((["--prompt", "héllo"], "never saw"), (["--temperature", "0"], "above 0"),
                        (["--length", "-1"], "at least 0"), (["--checkpoint", str(tmp_path / "none.pt")], "does not exist")):
        assert sample.main(["--checkpoint", str(path), *args]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error:") and words in err[0], err
    (tmp_path / "junk.pt").write_bytes(b"junk")
    assert sample.main(["--checkpoint", str(tmp_path / "junk.pt")]) == 2
    assert "is not a GPT checkpoint" in capsys.readouterr().err
