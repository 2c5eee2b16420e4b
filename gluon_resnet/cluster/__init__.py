"""Several machines: the launcher that starts the ps-lite scheduler, servers and workers of a dist kvstore
job on this machine, over ssh, with mpirun or with srun, and stops the whole job when one part fails.

Imports only the leaves; the workers it starts run tools/train.py."""
