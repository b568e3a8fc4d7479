"""A real, single-node Slurm cluster on localhost for the cluster tests.

:class:`LocalSlurm` installs nothing: it starts the ``munged``, ``slurmctld`` and ``slurmd`` binaries of
Debian's ``munge`` and ``slurm-wlm`` packages (``scripts/setup --slurm`` installs them) in the
foreground, each from a configuration generated in a private directory, and stops them by PID:

- a fresh munge key and socket, so nothing from ``/etc/munge`` or a system ``munged`` is used;
- a ``slurm.conf`` with free TCP ports, no accounting (``sacct`` has no data: the Snakemake plugin must
  use ``--slurm-status-command squeue``, and ``MinJobAge`` keeps finished jobs visible to ``squeue``
  long enough for it), and one node, ``localhost``, with the real CPU layout and memory that
  ``slurmd -C`` reports (``slurmd -N localhost`` names it, whatever the machine's hostname is);
- ``slurmd`` (and so every job) runs in a private mount namespace in which the generated ``etc/``
  directory (slurm.conf, gres.conf) is mounted on ``/etc/slurm``: the job step of the Snakemake plugin calls ``srun`` with every ``SLURM_*`` variable
  removed, ``SLURM_CONF`` included, so inside a job only the standard location finds the cluster, as on
  a real node. Nothing outside the namespace sees the mount. This needs root (CI runs as root);
- two partitions on that node: ``cpu`` (the default) and ``gpu``. Without real GPUs the ``gpu``
  partition takes jobs that request none; with ``fake_gpus=N`` the node also declares N GPUs as a
  generic resource (``gres.conf`` with ``File=/dev/null``) so that a job's ``--gpus``/``--gres`` request
  is scheduled and accounted exactly as on a GPU cluster, with no device behind it.

Every client command (``sbatch``, ``squeue``, the Snakemake plugin's calls) finds the cluster through
``SLURM_CONF`` in :attr:`LocalSlurm.env`. Run ``python -m tests.cluster.slurm -- COMMAND ...`` to start a
cluster, run one command against it and stop it again.
"""

from __future__ import annotations

import argparse
import atexit
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

NODE_NAME = "localhost"
CPU_PARTITION = "cpu"
GPU_PARTITION = "gpu"
REQUIRED_BINARIES = ("munged", "slurmctld", "slurmd", "sinfo", "squeue", "sbatch", "scancel", "scontrol",
                     "unshare", "mount")
#: Where Slurm's commands look for slurm.conf when SLURM_CONF is not set (Debian's build).
STANDARD_CONF_DIR = Path("/etc/slurm")
#: Finished jobs stay visible to squeue this long (s). The Slurm plugin falls back to sacct, which has
#: no data without accounting, when MinJobAge is below three times its first status-check delay.
MIN_JOB_AGE = 600


class SlurmUnavailable(Exception):
    """The machine cannot run a local Slurm cluster (binaries missing, not root); the message says why."""


class SlurmStartError(RuntimeError):
    """A daemon did not come up; the message holds the tail of its log."""


def find_binary(name: str) -> str | None:
    """``name`` on PATH or in the sbin directories (not on a non-root user's PATH on Debian)."""
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/local/sbin"])
    return shutil.which(name, path=search)


def missing_binaries() -> list[str]:
    return [name for name in REQUIRED_BINARIES if find_binary(name) is None]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class NodeHardware:
    """What slurmd detects on this machine: the node line of slurm.conf must not claim more."""

    cpus: int
    boards: int
    sockets_per_board: int
    cores_per_socket: int
    threads_per_core: int
    real_memory_mb: int

    @classmethod
    def detect(cls, slurmd: str) -> "NodeHardware":
        report = subprocess.run([slurmd, "-C"], capture_output=True, text=True, check=True).stdout
        fields = dict(re.findall(r"(\w+)=(\S+)", report))
        return cls(cpus=int(fields["CPUs"]), boards=int(fields["Boards"]),
                   sockets_per_board=int(fields["SocketsPerBoard"]),
                   cores_per_socket=int(fields["CoresPerSocket"]),
                   threads_per_core=int(fields["ThreadsPerCore"]),
                   real_memory_mb=int(fields["RealMemory"]))

    def node_line(self, gres: str) -> str:
        return (f"NodeName={NODE_NAME} NodeAddr=127.0.0.1 CPUs={self.cpus} Boards={self.boards} "
                f"SocketsPerBoard={self.sockets_per_board} CoresPerSocket={self.cores_per_socket} "
                f"ThreadsPerCore={self.threads_per_core} RealMemory={self.real_memory_mb}{gres} State=UNKNOWN")


class LocalSlurm:
    """munged + slurmctld + slurmd on localhost, configured and kept under ``root`` (a short path).

    Use as a context manager, or call :meth:`start` and :meth:`stop`; :meth:`stop` is also registered
    with ``atexit`` so that an interrupted test session does not leave daemons behind.
    """

    def __init__(self, root: str | os.PathLike, fake_gpus: int = 0):
        self.root = Path(root).resolve()
        self.fake_gpus = fake_gpus
        self.conf = self.root / "etc" / "slurm.conf"
        self.logs = self.root / "log"
        self.munge_socket = self.root / "munge" / "munge.socket"
        self.hardware: NodeHardware | None = None
        self._daemons: dict[str, subprocess.Popen] = {}
        self._binaries = {name: find_binary(name) for name in REQUIRED_BINARIES}

    @property
    def env(self) -> dict[str, str]:
        """The environment for client commands and Snakemake: the current one plus ``SLURM_CONF``."""
        return dict(os.environ, SLURM_CONF=str(self.conf))

    @property
    def pids(self) -> dict[str, int]:
        return {name: process.pid for name, process in self._daemons.items()}

    def __enter__(self) -> "LocalSlurm":
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- start ----------------------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> None:
        missing = [name for name, path in self._binaries.items() if path is None]
        if missing:
            raise SlurmUnavailable(
                f"a local Slurm cluster needs {', '.join(missing)} from Debian's slurm-wlm and munge packages "
                "(install them with scripts/setup --slurm)")
        if os.geteuid() != 0 or not STANDARD_CONF_DIR.is_dir():
            raise SlurmUnavailable(
                f"a local Slurm cluster needs root and the directory {STANDARD_CONF_DIR} (from slurm-wlm) to "
                "show its slurm.conf to jobs there in a private mount namespace")
        probe = subprocess.run([self._binaries["unshare"], "--mount", "--propagation", "private", "true"],
                               capture_output=True, text=True)
        if probe.returncode != 0:
            raise SlurmUnavailable(f"a local Slurm cluster needs a private mount namespace for slurmd, and "
                                   f"'unshare --mount' fails here: {probe.stderr.strip()}")
        atexit.register(self.stop)
        self.hardware = NodeHardware.detect(self._binaries["slurmd"])
        self._write_configuration()
        try:
            self._start_munged(timeout)
            self._start_daemon("slurmctld", [self._binaries["slurmctld"], "-D", "-i", "-f", str(self.conf)])
            self._start_daemon("slurmd", [
                self._binaries["unshare"], "--mount", "--propagation", "private", "sh", "-c",
                f'{self._binaries["mount"]} --bind "$0" {STANDARD_CONF_DIR} && exec "$@"', str(self.conf.parent),
                self._binaries["slurmd"], "-D", "-N", NODE_NAME, "-f", str(self.conf)])
            self._wait_for_idle_node(timeout)
        except BaseException:
            self.stop()
            raise

    def _write_configuration(self) -> None:
        # The munge socket's directory must be searchable by every user, and munged refuses a key that
        # others can read: the root is 0755, the key 0600.
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        for name in ("etc", "munge", "state", "spool", "log"):
            (self.root / name).mkdir(exist_ok=True)
        (self.root / "munge").chmod(0o755)
        key = self.root / "munge" / "munge.key"
        key.write_bytes(secrets.token_bytes(128))
        key.chmod(0o600)

        user = _current_user()
        gres_types, node_gres = "", ""
        if self.fake_gpus:
            gres_types, node_gres = "GresTypes=gpu\n", f" Gres=gpu:{self.fake_gpus}"
            (self.conf.parent / "gres.conf").write_text(
                f"AutoDetect=off\nNodeName={NODE_NAME} Name=gpu File=/dev/null Count={self.fake_gpus}\n")
        assert self.hardware is not None
        self.conf.write_text(
            f"# Generated by tests/cluster/slurm.py: a one-node cluster on localhost, no accounting.\n"
            f"ClusterName=snakefold\n"
            f"SlurmctldHost={NODE_NAME}\n"
            f"SlurmctldPort={free_port()}\n"
            f"SlurmdPort={free_port()}\n"
            f"SlurmUser={user}\n"
            f"SlurmdUser={user}\n"
            f"AuthType=auth/munge\n"
            f"CredType=cred/munge\n"
            f"AuthInfo=socket={self.munge_socket}\n"
            f"StateSaveLocation={self.root / 'state'}\n"
            f"SlurmdSpoolDir={self.root / 'spool'}\n"
            f"SlurmctldPidFile={self.root / 'slurmctld.pid'}\n"
            f"SlurmdPidFile={self.root / 'slurmd.pid'}\n"
            f"SlurmctldLogFile={self.logs / 'slurmctld.log'}\n"
            f"SlurmdLogFile={self.logs / 'slurmd.log'}\n"
            f"SlurmctldDebug=info\n"
            f"SlurmdDebug=info\n"
            f"MailProg=/bin/true\n"
            f"MpiDefault=none\n"
            f"ProctrackType=proctrack/linuxproc\n"
            f"TaskPlugin=task/none\n"
            f"JobAcctGatherType=jobacct_gather/none\n"
            f"AccountingStorageType=accounting_storage/none\n"
            f"JobCompType=jobcomp/none\n"
            f"SchedulerType=sched/backfill\n"
            f"SelectType=select/cons_tres\n"
            f"SelectTypeParameters=CR_Core_Memory\n"
            f"MinJobAge={MIN_JOB_AGE}\n"
            f"ReturnToService=2\n"
            f"{gres_types}"
            f"{self.hardware.node_line(node_gres)}\n"
            f"PartitionName={CPU_PARTITION} Nodes={NODE_NAME} Default=YES MaxTime=INFINITE State=UP\n"
            f"PartitionName={GPU_PARTITION} Nodes={NODE_NAME} MaxTime=INFINITE State=UP\n")

    def _start_munged(self, timeout: float) -> None:
        munge = self.root / "munge"
        self._start_daemon("munged", [
            self._binaries["munged"], "--foreground", f"--socket={self.munge_socket}",
            f"--key-file={munge / 'munge.key'}", f"--pid-file={munge / 'munged.pid'}",
            f"--log-file={self.logs / 'munged.log'}", f"--seed-file={munge / 'munged.seed'}"])
        self._wait(lambda: self.munge_socket.exists(), timeout, "munged did not create its socket", "munged")

    def _start_daemon(self, name: str, command: list[str]) -> None:
        with open(self.logs / f"{name}.out", "wb") as output:
            self._daemons[name] = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output,
                                                   stderr=subprocess.STDOUT, env=self.env,
                                                   start_new_session=True)

    def _wait_for_idle_node(self, timeout: float) -> None:
        def node_state() -> str:
            result = subprocess.run([self._binaries["sinfo"], "--noheader", "--Node", "--format=%T"],
                                    capture_output=True, text=True, env=self.env)
            return result.stdout.split()[0] if result.returncode == 0 and result.stdout.split() else ""

        self._wait(lambda: node_state() == "idle", timeout,
                   f"node {NODE_NAME} did not become idle (sinfo state: {node_state() or 'no answer'})",
                   "slurmctld", "slurmd")

    def _wait(self, ready, timeout: float, failure: str, *daemons: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            dead = [name for name in daemons if self._daemons[name].poll() is not None]
            if dead or time.monotonic() > deadline:
                reason = f"{', '.join(dead)} exited" if dead else f"timed out after {timeout:.0f} s"
                raise SlurmStartError(f"{failure} ({reason})\n{self.log_tail(*daemons)}")
            time.sleep(0.2)

    # -- use ------------------------------------------------------------------------------------------

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a Slurm client command (``squeue``, ``sbatch``, ...) against this cluster."""
        return subprocess.run(list(command), capture_output=True, text=True, env=self.env, check=check)

    def jobs(self) -> list[dict[str, str]]:
        """Every job slurmctld still knows (finished ones for MinJobAge s), oldest first."""
        fields = {"id": "jobid", "name": "name", "state": "state", "partition": "partition",
                  "comment": "comment", "cpus": "numcpus", "memory": "minmemory", "time_limit": "timelimit",
                  "tres_per_job": "tres-per-job"}
        result = self.run("squeue", "--states=all", "--noheader",
                          "--Format=" + ",".join(f"{field}:|" for field in fields.values()))
        jobs = [dict(zip(fields, (value.strip() for value in line.split("|"))))
                for line in result.stdout.splitlines() if line.strip()]
        return sorted(jobs, key=lambda job: int(job["id"].split("_")[0]))

    def log_tail(self, *daemons: str, lines: int = 25) -> str:
        parts = []
        for name in daemons or ("munged", "slurmctld", "slurmd"):
            for path in (self.logs / f"{name}.log", self.logs / f"{name}.out"):
                if path.exists() and path.stat().st_size:
                    tail = path.read_text(errors="replace").splitlines()[-lines:]
                    parts.append(f"--- {path} ---\n" + "\n".join(tail))
        return "\n".join(parts)

    # -- stop -----------------------------------------------------------------------------------------

    def cancel_all_jobs(self, timeout: float = 15.0) -> None:
        """Cancel every job of the cluster and wait until none is left running or queued."""
        if "slurmctld" not in self._daemons or self._daemons["slurmctld"].poll() is not None:
            return
        subprocess.run([self._binaries["scancel"], "--full", f"--user={_current_user()}"],
                       capture_output=True, env=self.env, timeout=timeout)
        self._wait_for_empty_queue(timeout)

    def stop(self, timeout: float = 15.0) -> None:
        """Cancel every job, then stop slurmd, slurmctld and munged by PID (SIGTERM, then SIGKILL)."""
        atexit.unregister(self.stop)
        self.cancel_all_jobs(timeout)
        for name in ("slurmd", "slurmctld", "munged"):
            process = self._daemons.pop(name, None)
            if process is None or process.poll() is not None:
                continue
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _wait_for_empty_queue(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = subprocess.run([self._binaries["squeue"], "--noheader", "--format=%i"],
                                    capture_output=True, text=True, env=self.env)
            if result.returncode != 0 or not result.stdout.strip():
                return
            time.sleep(0.2)


def _current_user() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def short_temporary_directory() -> Path:
    """A fresh directory under /tmp: the munge socket path must stay under the 108-byte Unix limit."""
    return Path(tempfile.mkdtemp(prefix="snakefold-slurm-", dir="/tmp"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.cluster.slurm",
        description="Start a one-node Slurm cluster on localhost, run COMMAND with SLURM_CONF set, stop it.")
    parser.add_argument("--fake-gpus", type=int, default=0, help="GPUs the node declares (no device behind them)")
    parser.add_argument("--keep", action="store_true", help="keep the cluster directory (logs) afterwards")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command to run (after --)")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give a command to run, e.g. -- sinfo")
    root = short_temporary_directory()
    try:
        with LocalSlurm(root, fake_gpus=args.fake_gpus) as cluster:
            print(f"local Slurm: SLURM_CONF={cluster.conf}", file=sys.stderr)
            return subprocess.run(command, env=cluster.env).returncode
    except (SlurmUnavailable, SlurmStartError) as error:
        print(f"local Slurm: {error}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"local Slurm: logs kept in {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
