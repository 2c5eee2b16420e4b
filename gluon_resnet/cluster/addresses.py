"""Addresses and ports: the scheduler's address the roles reach, each host's address its roles bind, a free
port, and this host's interfaces."""
import ipaddress
import socket

import psutil

from ..errors import UserError


def _ephemeral_ports():
    """The range the kernel hands out for outgoing connections and port-0 binds (Linux's default 32768-60999)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = map(int, f.read().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


def free_port(host="127.0.0.1", tries=100):
    """A port nothing is bound to on `host`, from 10000 up and outside the kernel's ephemeral range: between
    this check and the scheduler's bind, a port of that range can go to anyone's outgoing connection (srun's,
    ssh's, the roles' own ps-lite sockets), and the scheduler then failed with ps-lite's "bind failed"."""
    import random
    low, high = _ephemeral_ports()
    candidates = [*range(10000, low), *range(max(10000, high + 1), 65536)]
    for port in random.sample(candidates, min(tries, len(candidates))):
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # a crowded machine: any port the kernel gives
        s.bind((host, 0))
        return s.getsockname()[1]


def interface_addresses():
    """{interface: its first IPv4 address} of this host's interfaces that have one."""
    return {name: next(a.address for a in addresses if a.family == socket.AF_INET)
            for name, addresses in psutil.net_if_addrs().items()
            if any(a.family == socket.AF_INET for a in addresses)}


def is_loopback(address):
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def is_this_host(host):
    if host in ("localhost", socket.gethostname(), socket.getfqdn()):
        return True
    try:
        address = socket.gethostbyname(host)
    except OSError:
        return False
    return is_loopback(address) or address in interface_addresses().values()


def node_addresses(hosts, root):
    """{host: the address its roles bind and the others reach them at}. ps-lite hands DMLC_NODE_HOST
    to ZeroMQ's bind, which takes an address or an interface, never a host name: `node1` in a hostfile
    must become node1's address. This host's roles use the scheduler's address `root`, which is
    loopback only when every role is here. A name that does not resolve is one line, before any role
    starts."""
    found = {}
    for host in dict.fromkeys(h for h, _ in hosts):
        if is_this_host(host):
            found[host] = root
            continue
        try:
            found[host] = socket.gethostbyname(host)
        except OSError as e:
            raise UserError(f"host {host!r} of the hostfile does not resolve ({e.strerror or e}): write a name "
                            f"this host can look up (/etc/hosts, DNS) or its address") from None
    return found


def route_to(host):
    """The local address the kernel would use to reach `host` (a UDP connect sends no packet)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((socket.gethostbyname(host), 9))
        return s.getsockname()[0]


def scheduler_address(hosts, here_only=False, interfaces=None):
    """Where the roles reach the scheduler when --host-ip is not given: loopback for a job on this host
    alone (`here_only`, or a hostfile naming only this host), else the route to the first remote host, else
    this host's first non-loopback interface. Never loopback when a role may run elsewhere: then a
    UserError asks for --host-ip."""
    remote = [h for h, _ in hosts or [] if not is_this_host(h)]
    if here_only or (hosts and not remote):
        return "127.0.0.1"
    address = None
    if remote:
        try:
            address = route_to(remote[0])
        except OSError:
            pass
    if address is None or is_loopback(address):
        interfaces = interface_addresses() if interfaces is None else interfaces
        address = next((a for name, a in sorted(interfaces.items()) if not is_loopback(a)), None)
    if address is None:
        where = remote[0] if remote else "the nodes Slurm or mpirun choose"
        raise UserError(f"found no address of this host that {where} can reach (only loopback); pass --host-ip "
                        f"ADDRESS, the address the other hosts reach this one at")
    return address
