"""FRR: typed configuration models in, daemon files and vtysh out.

``model`` holds the typed model and renders one file per daemon from
``templates/``; ``daemons`` starts and stops zebra, ospfd and bgpd in a
Mininet node; ``vtysh`` runs show commands (JSON) and configuration.
"""
