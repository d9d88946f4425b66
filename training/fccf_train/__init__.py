"""fccf training package: data, network, losses, RL loss weighting and the training loop."""
