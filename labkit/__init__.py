"""labkit: DMVPN reference lab kit for Eltex ESR routers."""

__version__ = "0.1.0"
