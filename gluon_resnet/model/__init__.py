"""The networks: neon's CIFAR-10 and Mini-Places2 residual networks as Gluon blocks (resnet), their
parameter and MAC counts (summary), and bfloat16 mixed precision on the CPU (precision).

Imports only the leaves: gluon_resnet.compat, errors, recipes."""
