"""AlphaZero on small solved games (Silver et al. 2017, 2018): games, exact solvers, batched PUCT
search, baseline players, an arena and an Elo fit. The network lives in models/nets/alphazero.py,
the Lightning system in models/alphazero_system.py, self-play data in datamodules/selfplay.py."""
