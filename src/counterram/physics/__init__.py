"""Exterior ballistics: atmosphere, wind, munition catalogue, batched trajectories and aiming."""
