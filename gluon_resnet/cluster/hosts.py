"""The hosts of a job: the hostfile, and ssh as the launcher uses it (the user's settings first, host keys
checked, keepalives that notice a silent host), with every host logged in to once before anything starts."""
import os
import shlex
import subprocess
import tempfile

from ..errors import UserError


def read_hostfile(path):
    """MXNet's hostfile: one `host` or `host:port` per line (ssh port, default 22); `slots=` is ignored."""
    if not os.path.isfile(path):
        raise UserError(f"--hostfile {path} does not exist; write one host (or host:port) per line")
    hosts = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.split("#")[0].split("slots=")[0].strip()
            if not line:
                continue
            host, _, port = line.partition(":")
            if port and not port.isdigit():
                raise UserError(f"{path}, line {n}: {line!r} is not host or host:port")
            hosts.append((host, int(port or 22)))
    if not hosts:
        raise UserError(f"--hostfile {path} lists no host")
    return hosts

HOST_KEY_POLICY = "accept-new"
# A host that goes silent (cable, switch, kernel) leaves its ssh clients waiting forever unless ssh asks:
# every KEEPALIVE_SECONDS, and KEEPALIVE_COUNT unanswered asks end the client (exit 255). Then a new login
# (given PROBE_SECONDS to connect) tells a silent host from a role that failed. A cut host ends the job about
# 25 s after the cut (docs/distributed.md). These are defaults: the user's ssh_config (ServerAliveInterval,
# ServerAliveCountMax, ConnectTimeout) wins, and the message says the values ssh used (ssh_settings).
KEEPALIVE_SECONDS, KEEPALIVE_COUNT, PROBE_SECONDS = 5, 3, 5


def ssh_config_file(user_config=None):
    """The path of a temporary ssh config for the job: the user's settings (--ssh-config, else
    ~/.ssh/config), then the system's, then the launcher's defaults. ssh keeps the first value it reads
    for each option, so whatever the user's files set wins. The caller removes it."""
    user_config = user_config or os.path.expanduser("~/.ssh/config")
    lines = [f"Include {os.path.abspath(p)}" for p in (user_config, "/etc/ssh/ssh_config") if os.path.isfile(p)]
    lines += ["Host *", f"  StrictHostKeyChecking {HOST_KEY_POLICY}", f"  ServerAliveInterval {KEEPALIVE_SECONDS}",
              f"  ServerAliveCountMax {KEEPALIVE_COUNT}", f"  ConnectTimeout {PROBE_SECONDS}", "  LogLevel ERROR"]
    fd, path = tempfile.mkstemp(prefix="gluon-resnet-ssh-", suffix=".conf")
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def ssh_command(config, port):
    """ssh with the job's config, never asking for a password or a key's approval."""
    return ["ssh", "-F", config, "-o", "BatchMode=yes", "-p", str(port)]


def ssh_settings(config, host, port):
    """{option: value} as ssh resolves them for host:port with `config` (`ssh -G`; names lower-case)."""
    r = subprocess.run(["ssh", "-G", "-F", config, "-p", str(port), host], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    return {k: v for k, _, v in (line.partition(" ") for line in r.stdout.splitlines())}


def _seconds(value, default):
    return int(value) if (value or "").isdigit() else default


def _known_hosts(config, host, port):
    """(the known_hosts name of host:port, the `-f FILE` ssh-keygen needs when it is not the default)."""
    name = host if port == 22 else f"[{host}]:{port}"
    files = ssh_settings(config, host, port).get("userknownhostsfile", "").split()
    default = os.path.expanduser("~/.ssh/known_hosts")
    where = files[0] if files else default
    return name, "" if os.path.expanduser(where) == default else f" -f {shlex.quote(where)}"


def _said(r):
    """The last line a finished command wrote to stderr, or its exit status."""
    lines = [line.strip() for line in r.stderr.splitlines() if line.strip()]
    return lines[-1] if lines else f"exit {r.returncode}"


def sync(hosts, config, dst):
    """rsync this folder to `dst` on every host (before anything starts); a failure is one line."""
    for host, port in dict.fromkeys(hosts):
        r = subprocess.run(["rsync", "-az", "-e", shlex.join(ssh_command(config, port)), os.getcwd() + "/",
                            f"{host}:{dst}"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if r.returncode:
            raise UserError(f"rsync of {os.getcwd()} to {host}:{dst} failed ({_said(r)}); nothing was started")


def why_silent(config, host, port):
    """None if `host` answers a new ssh login (ssh's ConnectTimeout to connect, three times that in all),
    else why its ssh session ended: the keepalives it missed, and what the new login said."""
    settings = ssh_settings(config, host, port)
    connect = _seconds(settings.get("connecttimeout"), PROBE_SECONDS)
    try:
        r = subprocess.run([*ssh_command(config, port), host, "true"], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=3 * connect)
        if r.returncode == 0:
            return None
        why = _said(r)
    except subprocess.TimeoutExpired:
        why = f"no answer within {3 * connect} s"
    return (f"had no answer to {settings.get('serveralivecountmax', KEEPALIVE_COUNT)} keepalives "
            f"{settings.get('serveraliveinterval', KEEPALIVE_SECONDS)} s apart, and a new login failed ({why})")


def check_hosts(hosts, config):
    """Log in to every host once before anything starts: a host key that changed, an unknown host under
    strict checking, or a host ssh cannot reach is one line naming it and what to run."""
    for host, port in dict.fromkeys(hosts):
        try:
            r = subprocess.run([*ssh_command(config, port), "-o", "ConnectTimeout=15", host, "true"],
                               capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
        except subprocess.TimeoutExpired:
            raise UserError(f"ssh to {host}:{port} did not answer within 60 s; check that the host is up") from None
        if r.returncode == 0:
            continue
        name, f = _known_hosts(config, host, port)
        inspect = f"compare the remembered key (`ssh-keygen{f} -F '{name}'`) with the one it offers now " \
                  f"(`ssh-keyscan -p {port} {host}`)"
        if "HOST IDENTIFICATION HAS CHANGED" in r.stderr:
            raise UserError(f"the host key of {host}:{port} changed since ssh remembered it (known_hosts): nothing was "
                            f"started; {inspect}, and only if the change is expected remove the old one "
                            f"(`ssh-keygen{f} -R '{name}'`) and launch again")
        if "Host key verification failed" in r.stderr:
            raise UserError(f"{host}:{port} is not in ssh's known_hosts and your ssh_config asks for strict checking: "
                            f"nothing was started; check its key (`ssh-keyscan -p {port} {host}`), add it to "
                            f"known_hosts, and launch again")
        raise UserError(f"ssh cannot log in to {host}:{port} ({_said(r)}): "
                        f"nothing was started; `ssh -p {port} {host} true` must work without a password")
