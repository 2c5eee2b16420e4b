"""Training: the run's TrainConfig (config), devices and dist kvstore workers (devices, workers), the run
folder with its checkpoints and metrics (run), a run's start and next step before MXNet loads (start), the
epochs (training: fit, train_one_epoch, validate), what a run reports (evaluation, report, plots), and a
neon model file as a run folder (neon_import).

Imports the leaves, gluon_resnet.model and gluon_resnet.data."""
