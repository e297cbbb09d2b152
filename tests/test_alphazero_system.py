"""The AlphaZero network, self-play data, replay buffer, and the experiments end to end (smoke-sized)."""

import pytest
import torch
import yaml

from datamodules.selfplay import ReplayBuffer, augment
from models.alphazero.games import ConnectFour, TicTacToe
from models.alphazero.mcts import MCTS, network_evaluator
from models.alphazero.selfplay import play_games
from models.nets.alphazero import AlphaZeroNet
from repro.compose import CONFIG_DIR
from repro.pipeline import RECORDED, run
from tests.conftest import FIXTURES

TTT, C4 = TicTacToe(), ConnectFour()


def expected_params(cells, actions, channels, blocks, value_hidden, in_channels=2):
    conv = lambda i, o, k: i * o * k * k + 2 * o  # no bias; batch norm's scale and shift
    return (conv(in_channels, channels, 3) + blocks * 2 * conv(channels, channels, 3)
            + conv(channels, 2, 1) + 2 * cells * actions + actions
            + conv(channels, 1, 1) + cells * value_hidden + value_hidden + value_hidden + 1)


@pytest.mark.parametrize("channels,blocks", [(32, 2), (64, 5)])
def test_net_has_the_alphago_zero_layout(channels, blocks):
    net = AlphaZeroNet(6, 7, 7, channels=channels, blocks=blocks)
    logits, value = net(torch.zeros(5, 2, 6, 7))
    assert logits.shape == (5, 7) and value.shape == (5,) and value.abs().max() <= 1
    assert sum(p.numel() for p in net.parameters()) == expected_params(42, 7, channels, blocks, 256)
    assert len(net.tower) == blocks


@pytest.fixture(autouse=True)
def one_thread():
    """Small batches: one thread, as the experiments set it (model.torch_threads), restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_self_play_targets():
    torch.manual_seed(0)
    net = AlphaZeroNet(3, 3, 9, channels=8, blocks=1, value_hidden=8).eval()
    games = play_games(TTT, MCTS(TTT, network_evaluator(TTT, net), simulations=8), games=16, temperature_moves=30)
    assert games.games == 16 and len(games.planes) == len(games.policy) == len(games.value)
    assert 16 * 5 <= len(games.planes) <= 16 * 9  # a game lasts 5 to 9 moves
    assert torch.allclose(games.policy.sum(-1), torch.ones(len(games.policy)))
    assert set(games.value.unique().tolist()) <= {-1.0, 0.0, 1.0}
    first = games.planes[:16]  # the first ply of every game: the empty board, first player's result
    assert first.abs().sum() == 0
    assert games.value[:16].mean().item() == pytest.approx(games.first_player_score)
    # stones on the board: own + opponent's = ply; the player to move never has more stones
    stones = games.planes.flatten(2).sum(-1)
    assert (stones[:, 0] <= stones[:, 1]).all()
    assert games.evaluations > 0


def test_replay_buffer_keeps_the_newest_and_round_trips():
    buffer = ReplayBuffer(5)
    for start in (0, 3, 6):
        values = torch.arange(start, start + 3).float()
        buffer.add(torch.zeros(3, 2, 3, 3, dtype=torch.int8), torch.full((3, 9), 1 / 9), values)
    assert buffer.size == 5 and buffer.ordered()[2].tolist() == [4, 5, 6, 7, 8]
    restored = ReplayBuffer(5)
    restored.load_state_dict(buffer.state_dict())
    assert restored.ordered()[2].tolist() == [4, 5, 6, 7, 8]
    assert restored.sample(4)[0].dtype == torch.float32


@pytest.mark.parametrize("game", [TTT, C4], ids=["tictactoe", "connect4"])
def test_augmentation_moves_the_target_with_the_board(game):
    torch.manual_seed(0)
    n = 64
    planes = torch.zeros(n, 2, game.height, game.width)
    policy = torch.zeros(n, game.num_actions)
    action = torch.randint(game.num_actions, (n,))
    policy[torch.arange(n), action] = 1
    # mark the target's cell (bottom cell of the column in Connect Four) in the opponent plane
    cells = (game.action_grid == action[:, None, None]) & (torch.arange(game.height)[:, None] == game.height - 1
                                                              if game is C4 else True)
    planes[:, 1] = cells.float()
    moved_planes, moved_policy = augment(game, planes, policy)
    marked = (moved_planes[:, 1] > 0) & (game.action_grid == moved_policy.argmax(-1)[:, None, None])
    assert marked.flatten(1).any(-1).all()
    assert not torch.equal(moved_policy, policy)  # some rows did move


# ---- the experiments, composed as users run them and shrunk by their `smoke:` lists ----------------------

def smoke_overrides(name):
    spec = yaml.safe_load((CONFIG_DIR / "experiment" / f"{name}.yaml").read_text())
    return ["debug=smoke", *spec.get("smoke", [])]


def compose(name, tmp_path, *extra):
    from repro.compose import compose_experiment

    return compose_experiment(name, tmp_path / "out", [*smoke_overrides(name), f"paths.data_dir={FIXTURES}",
                                                       f"paths.results_dir={tmp_path / 'results'}", *extra])


def test_tictactoe_smoke_run_records_selfplay_and_evaluation(tmp_path):
    record = run(compose("alphazero_tictactoe", tmp_path))
    assert {c["id"] for c in record["claims"]} == {"silver2017.tictactoe_never_loses", "silver2017.tictactoe_raw_optimal"}
    metrics = record["metrics"]
    assert 0 <= metrics["test/loss_rate_vs_perfect_pct"] <= 100 and 0 <= metrics["test/raw_optimal_move_pct"] <= 100
    selfplay, evaluation = record["selfplay"], record["evaluation"]
    assert selfplay["games"] == 8 and selfplay["positions_per_s"] > 0 and selfplay["network_evaluations_per_s"] > 0
    assert evaluation["raw_optimal"]["positions"] == 4520
    assert evaluation["perfect_play"]["lines"] > 0
    assert {m["opponent"] for m in evaluation["matches"]} >= {"perfect"}
    assert all(len(m["win_interval_pct"]) == 2 for m in evaluation["matches"])
    assert evaluation["elo"]["ratings"]["random"] == 0 and evaluation["elo"]["curves"]["search"][0][0] == 0


def test_connect_four_smoke_run_measures_pons_mistakes(tmp_path):
    record = run(compose("alphazero_connect4", tmp_path))
    metrics = record["metrics"]
    for label in ("end_easy", "middle_easy", "beginning_easy"):
        assert 0 <= metrics[f"test/mistakes_{label}_pct"] <= 100
    assert "test/win_rate_vs_minimax2_pct" in metrics and "test/elo_search_minus_raw" in metrics
    pons = record["evaluation"]["pons"]["end_easy"]["results"]
    assert {"alphazero", "raw network"} <= set(pons)


def test_resume_continues_the_iterations_with_the_buffer(tmp_path):
    first = run(compose("alphazero_tictactoe", tmp_path, "callbacks=default", "trainer.enable_progress_bar=false"))
    checkpoint_path = tmp_path / "out" / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(checkpoint_path, weights_only=True)
    buffer = checkpoint["SelfPlayDataModule"]["buffer"]
    assert len(buffer["value"]) == first["selfplay"]["positions"]
    (tmp_path / "out" / RECORDED).unlink()  # as if the run had stopped after iteration 1, before its record
    resumed = run(compose("alphazero_tictactoe", tmp_path, "callbacks=default", "trainer.enable_progress_bar=false",
                          "trainer.max_epochs=2", f"ckpt_path={checkpoint_path}"))
    assert [i["iteration"] for i in resumed["selfplay"]["iterations"]] == [1, 2]
    assert resumed["selfplay"]["games"] == 2 * first["selfplay"]["games"]
    assert [c[0] for c in resumed["evaluation"]["elo"]["curves"]["search"]] == [0, 2]


def make_system(**kwargs):
    from functools import partial

    from models.alphazero_system import AlphaZeroSystem

    args = dict(net=AlphaZeroNet(6, 7, 7, channels=8, blocks=1), game="connect4",
                optimizer=partial(torch.optim.SGD, lr=0.01), evaluation={"players": {"random": {"kind": "random"}}})
    return AlphaZeroSystem(**(args | kwargs))


@pytest.mark.parametrize("kwargs,message", [
    ({"game": "chess"}, "model.game='chess': use one of"),
    ({"net": AlphaZeroNet(6, 7, 9, channels=8, blocks=1)}, "model.net.num_actions=9 but connect4 has 7 moves"),
    ({"net": AlphaZeroNet(3, 3, 9, channels=8, blocks=1)}, "model.net does not fit model.game=connect4"),
    ({"simulations": 0}, "model.simulations=0"),
    ({"evaluation": {"players": {}, "matches": ["minimax9"]}}, "names 'minimax9', which model.evaluation.players"),
    ({"evaluation": {"players": {"x": {"kind": "alphabeta"}}}}, "players.x.kind='alphabeta'"),
    ({"evaluation": {"pons": {"data_dir": "/nowhere", "sets": {"end": "Test_L3_R1"}}}},
     "Pons benchmark file /nowhere/Test_L3_R1 not found"),
])
def test_bad_settings_fail_before_training(kwargs, message):
    from repro.errors import UserError

    with pytest.raises(UserError, match=message.replace("(", r"\(").replace("[", r"\[")):
        make_system(**kwargs)


def test_a_bad_setting_is_one_line_through_hydra(tmp_path):
    from hydra.utils import instantiate

    from repro.cli import one_line

    with pytest.raises(Exception) as caught:
        instantiate(compose("alphazero_connect4", tmp_path, "paths.data_dir=/nowhere").model)
    assert "Pons benchmark file /nowhere/connect4-pons/Test_L3_R1 not found" in one_line(caught.value)
