"""repro.allocator: a LeNet-5 training step on a CPU stops page-faulting its activations in again."""

import subprocess
import sys

from tests.conftest import REPO

# Ten LeNet-5 training steps at batch 128 after five to warm up; prints minor page faults per step.
STEPS = """
import resource, sys, torch
from repro.allocator import keep_freed_memory
from models.losses import lecun_map_loss
from models.nets.lenet import LeNet5
if sys.argv[1] == "keep":
    assert keep_freed_memory()
torch.manual_seed(0)
net = LeNet5()
optimizer = torch.optim.AdamW(net.parameters())
x, y = torch.randn(128, 1, 32, 32), torch.randint(0, 10, (128,))
def step():
    optimizer.zero_grad()
    lecun_map_loss(net(x), y).backward()
    optimizer.step()
for _ in range(5):
    step()
start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start) / 10)
"""


def faults_per_step(mode: str) -> float:
    result = subprocess.run([sys.executable, "-c", STEPS, mode], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return float(result.stdout.split()[-1])


def test_kept_memory_stops_the_page_faults_of_a_training_step():
    kept, default = faults_per_step("keep"), faults_per_step("default")
    print(f"minor page faults per LeNet-5 step: {kept:.0f} kept, {default:.0f} with malloc's defaults")
    assert kept < 50  # measured 0-20; about 2,000 with glibc's defaults
    assert kept < default / 10
