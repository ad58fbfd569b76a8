"""flatmob_mn: emulate a flat wireless ISP on real FRR routers in Mininet.

Access routers (ARs) authenticate mobile nodes (MNs) with one message
built on static ECDH, then inject a host route into iBGP so that the
network follows the MN.  Subpackages, one per concern:

- ``topology``: spec files, the address plan and the Mininet network
- ``frr``: typed FRR configuration model, rendered one template a daemon
- ``auth``: the one-message authentication protocol and key store
- ``naming``: DNSSEC-signed DNS server and validating client
- ``dhcp``: DHCP server and client configuration for the access links
- ``agents``: AR and MN agents and their control interface
- ``measure`` and ``plot``: experiment measurement and plots
- ``cli``: the ``flatmob`` command
"""

__version__ = "0.1.0"
