"""The name server: Knot DNS in a Mininet node, serving the plan.

``NameServer.build()`` renders ``knot.conf`` (one jinja2 template from
the typed plan) and the zone files, writes one TSIG key file per node,
makes each zone's signing key with ``keymgr`` in the run directory's key
database and writes the trust anchors, all before knotd starts: the
anchors never come from the network.  ``start(node)`` runs knotd inside
the node and waits until every zone validates against its anchor.

Every file knotd reads or writes lives under ``<run>/<folder>/knot/``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.zone
import jinja2

from flatmob_mn import netns, runstate
from flatmob_mn.naming.anchors import dnskey_from_text, write_anchors
from flatmob_mn.naming.errors import NameServerError, NamingError
from flatmob_mn.naming.plan import NamingPlan, TsigKey, ZonePlan

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("flatmob_mn.naming", "templates"),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class KnotFiles:
    """Where each of knotd's files lives inside the run directory."""

    root: Path

    @property
    def conf(self) -> Path:
        """Return the configuration file."""
        return self.root / "knot.conf"

    @property
    def confdb(self) -> Path:
        """Return the binary configuration database imported from conf.

        knotd and keymgr given a text configuration import it into a
        temporary database under /tmp; given this one, they do not.
        """
        return self.root / "confdb"

    @property
    def zones(self) -> Path:
        """Return the folder of zone files."""
        return self.root / "zones"

    @property
    def journal(self) -> Path:
        """Return the journal database."""
        return self.root / "journal"

    @property
    def kasp(self) -> Path:
        """Return the key and signing policy database."""
        return self.root / "kasp"

    @property
    def timers(self) -> Path:
        """Return the timer database."""
        return self.root / "timers"

    @property
    def catalog(self) -> Path:
        """Return the catalog database."""
        return self.root / "catalog"

    @property
    def pidfile(self) -> Path:
        """Return knotd's pid file."""
        return self.root / "knot.pid"

    @property
    def socket(self) -> Path:
        """Return the control socket."""
        return self.root / "knot.sock"

    @property
    def log(self) -> Path:
        """Return knotd's log file."""
        return self.root / "knot.log"

    @property
    def stderr(self) -> Path:
        """Return the file knotd's standard streams go to."""
        return self.root / "knotd.out"

    @property
    def anchors(self) -> Path:
        """Return the trust anchors file (for delv and the resolver)."""
        return self.root / "anchors.conf"

    def key_file(self, name: str) -> Path:
        """Return the TSIG key file of node ``name``."""
        return self.root / "tsig" / f"{name.rstrip('.')}.key"

    def zone_file(self, origin: str) -> Path:
        """Return the zone file of ``origin``."""
        return self.zones / f"{origin}zone"


def render_conf(plan: NamingPlan, files: KnotFiles) -> str:
    """Return knot.conf for ``plan`` with every file under ``files``."""
    rules = [rule for zone in plan.zones for rule in zone.rules]
    template = _TEMPLATES.get_template("knot.conf.j2")
    return template.render(
        plan=plan,
        files=files,
        rules=rules,
        listen=f"{plan.ns_address}@{plan.port}",
    )


def render_zone(zone: ZonePlan) -> str:
    """Return the zone file text of ``zone`` (unsigned)."""
    origin = dns.name.from_text(zone.origin)
    built = dns.zone.Zone(origin, relativize=False)
    for record in zone.records:
        owner = dns.name.from_text(record.owner, origin)
        rdtype = dns.rdatatype.from_text(record.rdtype)
        rdata = dns.rdata.from_text(
            dns.rdataclass.IN, rdtype, record.rdata, origin
        )
        rdataset = built.find_rdataset(owner, rdtype, create=True)
        rdataset.add(rdata, record.ttl)
    return str(built.to_text(sorted=True, relativize=False))


def format_key_file(key: TsigKey) -> str:
    """Return a key file line: ``algorithm:name:secret`` (kdig -k)."""
    return f"{key.algorithm}:{key.name}:{key.secret_b64}\n"


def read_key_file(path: Path) -> TsigKey:
    """Return the TSIG key stored in ``path`` by ``format_key_file``.

    :raises NamingError: if the file is not a key file.
    """
    import base64
    import binascii

    try:
        algorithm, name, secret = Path(path).read_text().strip().split(":")
        return TsigKey(
            name, base64.b64decode(secret, validate=True), algorithm
        )
    except (OSError, ValueError, binascii.Error) as e:
        raise NamingError(f"{path}: not a TSIG key file") from e


class NameServer:
    """Knot DNS serving a naming plan from inside one Mininet node."""

    def __init__(
        self,
        plan: NamingPlan,
        run_dir: runstate.RunDir,
        folder: str | None = None,
    ) -> None:
        """Prepare a server for ``plan`` keeping its files in ``run_dir``.

        :param folder: the node folder to use (the NS's first label).
        """
        self.plan = plan
        self.run_dir = run_dir
        self.folder = folder or plan.ns_name.split(".", 1)[0]
        self.files: KnotFiles | None = None
        self.anchors: dict[str, tuple[Any, ...]] = {}
        self.pid: int | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def build(self) -> KnotFiles:
        """Write config, zones, key files, signing keys and anchors.

        :raises NameServerError: if keymgr fails.
        """
        if self.files is not None:
            return self.files
        files = KnotFiles(self.run_dir.node_dir(self.folder) / "knot")
        for folder in (files.root, files.zones, files.key_file("x").parent):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        files.conf.write_text(render_conf(self.plan, files))
        _knot_tool(
            "knotc", "-C", str(files.confdb), "conf-import", str(files.conf)
        )
        for zone in self.plan.zones:
            files.zone_file(zone.origin).write_text(render_zone(zone))
        for key in self.plan.keys:
            path = files.key_file(key.name)
            path.touch(mode=0o600)
            path.write_text(format_key_file(key))
        self.anchors = {
            zone.origin: (self._make_signing_key(files, zone.origin),)
            for zone in self.plan.zones
        }
        write_anchors(self.anchors, files.anchors)
        self.files = files
        return files

    def key_file(self, name: str) -> Path:
        """Return the TSIG key file of node ``name`` (after build)."""
        return self.build().key_file(name)

    def start(
        self, node: Any, timeout: float = 10.0, probe: Any = None
    ) -> None:
        """Start knotd in ``node``; wait until every zone validates.

        :param node: a Mininet node (``popen`` and ``pid`` are used).
        :param probe: the node to ask from (default ``node``, whose
            loopback must then be up, as in any Mininet host).
        :raises NameServerError: if knotd exits or does not serve
            validated answers for every zone within ``timeout``.
        """
        if self._process is not None:
            raise NameServerError("the name server is already running")
        files = self.build()
        with open(files.stderr, "ab") as out:
            self._process = node.popen(
                ["knotd", "-C", str(files.confdb)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        self.pid = self._process.pid
        try:
            self.run_dir.record_process(self.pid, f"knotd {self.folder}")
            self._wait_ready(probe or node, timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self, grace: float = 3.0) -> None:
        """End knotd (by its recorded pid) and reap it."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.pid = None

    def rss(self) -> int:
        """Return knotd's resident memory in bytes.

        :raises NameServerError: if knotd is not running.
        """
        if self.pid is None:
            raise NameServerError("the name server is not running")
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError as e:
            raise NameServerError("knotd is gone") from e
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise NameServerError("no VmRSS in knotd's status")

    @property
    def server(self) -> tuple[str, int]:
        """Return the (address, port) the server answers on."""
        return self.plan.ns_address, self.plan.port

    def _make_signing_key(self, files: KnotFiles, origin: str) -> Any:
        # One CSK (flags 257) per zone: it is both the anchor and the
        # key that signs every RRset (single-type-signing).
        confdb = str(files.confdb)
        _knot_tool(
            "keymgr",
            "-C",
            confdb,
            origin,
            "generate",
            f"algorithm={self.plan.algorithm}",
            "ksk=yes",
            "zsk=yes",
        )
        out = _knot_tool("keymgr", "-C", confdb, origin, "dnskey")
        lines = [line.split() for line in out.splitlines() if line]
        keys = [f for f in lines if len(f) >= 6 and f[1] == "DNSKEY"]
        if len(keys) != 1:
            raise NameServerError(f"{origin}: keymgr listed {out!r}")
        return dnskey_from_text(" ".join(keys[0][2:]))

    def _wait_ready(self, node: Any, timeout: float) -> None:
        # Imported here: the client imports nothing from the server.
        from flatmob_mn.naming.client import Resolver

        resolver = Resolver(self.server, self.anchors, timeout=0.2, retries=0)
        deadline = time.monotonic() + timeout
        pending = [zone.origin for zone in self.plan.zones]
        last: Exception | None = None
        with netns.entered(node.pid):
            while pending:
                if self._process is None or self._process.poll() is not None:
                    raise NameServerError(
                        f"knotd exited at start; see {self.build().log} "
                        f"and {self.build().stderr}"
                    )
                try:
                    resolver.lookup(pending[0], "SOA")
                    pending.pop(0)
                    continue
                except NamingError as e:
                    last = e
                if time.monotonic() > deadline:
                    raise NameServerError(
                        f"{pending[0]}: no validated answer within "
                        f"{timeout} s ({last})"
                    ) from last
                time.sleep(0.01)


def _knot_tool(*argv: str) -> str:
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env={**os.environ, "LC_ALL": "C"},
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise NameServerError(f"{' '.join(argv)}: {e}") from e
    if done.returncode != 0:
        raise NameServerError(
            f"{' '.join(argv)} failed: {done.stderr.strip()}"
        )
    return done.stdout
