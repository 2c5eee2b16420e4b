"""Several machines: the launcher that starts the ps-lite scheduler, servers and workers of a dist kvstore
job on this machine, over ssh, with mpirun or with srun, and stops the whole job when one part fails.

launcher.py (launch) on top of supervision.py (the roles watched together), backends.py (how each is
started), hosts.py (the hostfile, ssh) and addresses.py (addresses, ports); kvstore_role.py runs a scheduler
or a server. Imports only the leaves; the workers it starts run tools/train.py."""
