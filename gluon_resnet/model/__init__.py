"""The networks: neon's CIFAR-10 and Mini-Places2 residual networks as Gluon blocks (resnet), their
parameter and MAC counts (summary), bfloat16 mixed precision on the CPU (precision), and neon's own model
files read into the networks' layout (neon).

Imports only the leaves: gluon_resnet.compat, errors, recipes."""
