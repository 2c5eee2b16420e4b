"""Training: devices and dist kvstore workers (devices, workers), a run's start and next step before MXNet
loads (start), an epoch's mechanics (steps: train_step, train_one_epoch, validate), the whole job (training:
fit), what a worker tells its launcher (progress), what a run reports (report, plots), and a neon model file
as a run folder (neon_import).

Imports the leaves, gluon_resnet.model, gluon_resnet.data and gluon_resnet.runs."""
