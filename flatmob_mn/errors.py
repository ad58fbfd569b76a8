"""Exceptions raised by flatmob_mn: one root, one subclass per area."""


class FlatmobError(Exception):
    """Root of every error flatmob_mn raises on purpose."""


class SpecError(FlatmobError):
    """A topology or experiment spec is malformed."""


class AddressPlanError(FlatmobError):
    """The address plan cannot be built: overlap, misfit or misalignment."""


class FrrError(FlatmobError):
    """An FRR daemon failed to start or refused a command."""


class ConvergenceError(FlatmobError):
    """The network did not reach the expected state before the timeout."""


class RunStateError(FlatmobError):
    """A run directory or its records are missing or unusable."""


class AuthError(FlatmobError):
    """Authentication failed or was misused by the caller."""


class NamingError(FlatmobError):
    """A DNS lookup, validation or update failed."""


class DhcpError(FlatmobError):
    """A DHCP server or client failed."""


class NamespaceError(FlatmobError):
    """A node's network namespace cannot be entered."""


class AgentError(FlatmobError):
    """An AR or MN agent failed or refused a request."""


class TopologyError(FlatmobError):
    """The emulated network could not be built, changed or torn down."""


class ResultsError(FlatmobError):
    """A results folder is missing or its files are malformed."""
