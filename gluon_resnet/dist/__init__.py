"""Several machines: the launcher that starts the ps-lite scheduler, servers and workers of a dist kvstore
job locally, over ssh, with mpirun or with srun, and stops the whole job when one part fails.

Imports only the leaves: the processes it starts run tools/train.py."""
