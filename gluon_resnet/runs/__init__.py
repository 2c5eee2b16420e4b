"""A run: its TrainConfig (config), its folder with checkpoints, records and exported model (folder), and its
model evaluated on a packed dataset (evaluation). Below training, which writes runs, and deployment, which
reads them.

Imports the leaves, gluon_resnet.model and gluon_resnet.data."""
